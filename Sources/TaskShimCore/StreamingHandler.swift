import FoundationEssentials

/// Where a streaming handler writes its response, part by part.
public protocol ResponseWriter: Sendable {
    /// Sends `bytes` on; returns once they are handed to the transport.
    func write(_ bytes: Data) async throws
}

/// A handler that writes its response in parts as it produces them (AWS Lambda response streaming).
/// Contracts that do not stream join the parts into one body, so a streaming handler runs everywhere.
public protocol StreamingHandler: Handler {
    func stream(_ invocation: Invocation, context: HandlerContext, to writer: any ResponseWriter) async throws
}

extension StreamingHandler {
    public func handle(_ invocation: Invocation, context: HandlerContext) async throws -> Data {
        let collector = CollectingWriter()
        try await stream(invocation, context: context, to: collector)
        return collector.data
    }
}

/// Joins written parts into one body.
final class CollectingWriter: ResponseWriter {
    private let lock = Lock()
    nonisolated(unsafe) private var collected = Data()

    func write(_ bytes: Data) async throws {
        lock.withLock { collected.append(bytes) }
    }

    var data: Data { lock.withLock { collected } }
}
