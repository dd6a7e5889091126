import FoundationEssentials
import Logging
import TaskShimCore
#if canImport(Glibc)
import Glibc
#endif

/// The custom-runtime loop: ask for an event, run the handler, post the result, repeat.
///
/// Nothing is buffered between invocations (every log line is written with one `write(2)` before the
/// next `GET next`), so a process frozen by Lambda between events has nothing left in memory to lose.
public struct LambdaLoop: Sendable {
    public var api: RuntimeAPIClient
    public var runner: Runner
    public var logger: Logger
    /// Stream the responses of ``StreamingHandler``s to direct invocations (`TASKSHIM_LAMBDA_STREAMING`).
    public var streaming: Bool
    /// Runs before each request for the next event, after the previous one was answered (the audit
    /// trail's flush), while the process is still sure to be running.
    public var beforeNext: @Sendable () async -> Void = {}
    /// Where an SQS message's `job_type` attribute finds its handler, as `runtime worker` finds a
    /// job's; nil: every message runs the function's handler.
    public var registry: HandlerRegistry?

    public init(api: RuntimeAPIClient, runner: Runner, logger: Logger, streaming: Bool = false) {
        self.api = api
        self.runner = runner
        self.logger = logger
        self.streaming = streaming
    }

    /// Runs invocations until `limit` have been handled (nil: forever) or the Runtime API fails.
    public func run(_ handler: any Handler, limit: Int? = nil) async throws {
        // On the Runtime API client's thread, each request runs inline: no thread wake-ups per event.
        try await withTaskExecutorPreference(api.executor) {
            try await loop(handler, limit: limit)
        }
    }

    private func loop(_ handler: any Handler, limit: Int?) async throws {
        var handled = 0
        var warnedRelativeDeadline = false
        while limit.map({ handled < $0 }) ?? true {
            try Task.checkCancellation()
            if handled > 0 { await beforeNext() }
            let event = try await api.next()
            handled += 1
            let deadline = Self.deadline(event.deadlineMilliseconds, now: Date())
            if deadline.relative && !warnedRelativeDeadline {
                warnedRelativeDeadline = true
                logger.notice("Lambda-Runtime-Deadline-Ms is not an epoch time; treating it as a budget in milliseconds",
                              metadata: ["value": .stringConvertible(event.deadlineMilliseconds ?? 0)])
            }
            if let trace = event.traceID { setenv("_X_AMZN_TRACE_ID", trace, 1) } else { unsetenv("_X_AMZN_TRACE_ID") }
            if streaming, handler is any StreamingHandler, case .direct = LambdaEvent.classify(event.body) {
                let invocation = Self.invocation(for: event, deadline: deadline.date)
                let runner = runner
                try await api.respondStreaming(event.requestID) { writer in
                    await runner.run(handler, invocation, streamingTo: writer).error.map(LambdaErrorBody.init)
                }
                continue
            }
            let result = await invoke(handler, event, deadline: deadline.date)
            switch result {
            case .success(let body):
                if body.count > RuntimeAPIClient.maxResponseBytes {
                    try await api.fail(event.requestID, error: LambdaErrorBody(
                        errorType: "TaskShim.ResponseTooLarge",
                        errorMessage: "The response is \(body.count) bytes; Lambda accepts at most \(RuntimeAPIClient.maxResponseBytes)."))
                } else {
                    try await api.respond(event.requestID, body: body)
                }
            case .failure(let error):
                try await api.fail(event.requestID, error: LambdaErrorBody(error))
            }
        }
    }

    /// Runs one event: a scheduled event with its logical time, an SQS batch record by record with
    /// partial batch failure, or a direct invocation.
    func invoke(_ handler: any Handler, _ event: LambdaNextEvent, deadline: Date?) async -> Result<Data, TaskShimError> {
        var invocation = Self.invocation(for: event, deadline: deadline)
        switch LambdaEvent.classify(event.body) {
        case .scheduled(let time, let id):
            invocation.logicalTime = time
            invocation.idempotencyKey = id
            invocation.platformRetries = true  // EventBridge invokes asynchronously: Lambda retries twice
        case .sqs(let records):
            var failures: [String] = []
            for record in records {
                var one = invocation
                one.trigger = .queue
                one.payload = record.body
                one.attempt = record.receiveCount
                one.idempotencyKey = record.messageID
                one.attributes["job_id"] = record.messageID
                one.attributes["job_queue"] = record.queueName
                var recordHandler = handler
                if let type = record.jobType {
                    one.attributes["job_type"] = type
                    do {
                        recordHandler = try (registry ?? HandlerRegistry()).resolve(type)
                    } catch {
                        // Reported as failed: SQS delivers it again until maxReceiveCount sends it to the dead-letter queue.
                        logger.error("SQS message of an unknown job type", metadata: ["message_id": .string(record.messageID),
                                                                                      "job_type": .string(type), "error": .string(error.description)])
                        failures.append(record.messageID)
                        continue
                    }
                }
                if await runner.run(recordHandler, one).error != nil { failures.append(record.messageID) }
            }
            // Only the failed messages return to the queue (needs ReportBatchItemFailures on the mapping).
            let items = failures.map { "{\"itemIdentifier\":\(JSONLine.quoted($0))}" }.joined(separator: ",")
            return .success(Data("{\"batchItemFailures\":[\(items)]}".utf8))
        case .direct:
            break
        }
        let outcome = await runner.run(handler, invocation)
        if let error = outcome.error { return .failure(error) }
        return .success(outcome.output)
    }

    static func invocation(for event: LambdaNextEvent, deadline: Date?) -> Invocation {
        var invocation = Invocation(payload: event.body, trigger: .lambda, deadline: deadline, requestID: event.requestID,
                                    traceID: event.traceID.map(Self.xrayRoot))
        invocation.attributes["invoked_function_arn"] = event.invokedFunctionARN
        invocation.attributes["client_context"] = event.clientContext
        invocation.attributes["cognito_identity"] = event.cognitoIdentity
        return invocation
    }

    /// Lambda sends the deadline as epoch milliseconds. A value far below any epoch time (some emulators
    /// send `600000`) is taken as a budget from now.
    static func deadline(_ milliseconds: Int64?, now: Date) -> (date: Date?, relative: Bool) {
        guard let milliseconds, milliseconds > 0 else { return (nil, false) }
        if milliseconds < 1_000_000_000_000 {
            return (now.addingTimeInterval(Double(milliseconds) / 1000), true)
        }
        return (Date(timeIntervalSince1970: Double(milliseconds) / 1000), false)
    }

    /// `1-5759e988-bd862e3fe1be46a994272793` from `Root=1-5759e988-bd862e3fe1be46a994272793;Parent=...`.
    static func xrayRoot(_ header: String) -> String {
        for part in header.split(separator: ";") where part.hasPrefix("Root=") {
            return String(part.dropFirst(5))
        }
        return header
    }
}
