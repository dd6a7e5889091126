import Logging

/// Which run a log line is about: the metadata every line of an invocation carries (`handler`,
/// `request_id`, `attempt`, and the trace when the platform sent one).
struct RunIdentity: Sendable {
    var handler: String
    var requestID: String
    var attempt: Int
    var traceID: String?
    var spanID: String?

    init(_ handler: any Handler, _ invocation: Invocation) {
        self.handler = handler.name
        requestID = invocation.requestID
        attempt = invocation.attempt
        traceID = invocation.traceID
        spanID = invocation.spanID
    }

    /// `base` with this run's metadata; the base logger's own metadata is kept where names differ.
    func logger(from base: Logger) -> Logger {
        var logger = base
        // One literal, sized at once: key by key the dictionary grows (and is copied).
        var metadata: Logger.Metadata
        if let traceID, let spanID {
            metadata = ["handler": .string(handler), "request_id": .string(requestID),
                        "attempt": .stringConvertible(attempt), "trace_id": .string(traceID), "span_id": .string(spanID)]
        } else {
            metadata = ["handler": .string(handler), "request_id": .string(requestID), "attempt": .stringConvertible(attempt)]
            if let traceID { metadata["trace_id"] = .string(traceID) }
        }
        let own = logger.handler.metadata
        if !own.isEmpty { metadata.merge(own) { run, _ in run } }
        logger.handler.metadata = metadata
        return logger
    }
}
