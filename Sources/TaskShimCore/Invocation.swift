import FoundationEssentials

/// One run of a handler, as every contract describes it after translating its platform's input.
public struct Invocation: Sendable {
    /// The event body: JSON for most triggers, raw bytes for HTTP.
    public var payload: Data
    /// What started the run.
    public var trigger: Trigger
    /// The time the run is *for*: a schedule's fire time, EventBridge's `time`, Cloud Scheduler's
    /// schedule time, or now. Handlers derive their data window from it, so a late retry processes the
    /// same window as the first attempt.
    public var logicalTime: Date
    /// An explicit data interval (`--start/--end`); when set it wins over `logicalTime`.
    public var dataInterval: DateInterval?
    /// 1 for the first attempt; platform and queue retries count up.
    public var attempt: Int
    /// When the platform stops waiting; nil when there is no limit.
    public var deadline: Date?
    /// The platform's request id (Lambda request id, HTTP execution id, job id), or a generated one.
    public var requestID: String
    /// The trace id from the platform (X-Ray, W3C traceparent, Cloud Trace), if any.
    public var traceID: String?
    /// The caller's span, when the trigger says (W3C `traceparent`, `X-Cloud-Trace-Context`): 16 hex digits.
    public var spanID: String?
    /// A key that is the same for every attempt of the same logical run.
    public var idempotencyKey: String
    /// When set, the handler computes its results but sends nothing to the outside world.
    public var dryRun: Bool
    /// What the platform said about the run beyond the fields above, under the names each contract's
    /// page lists (on Lambda: `invoked_function_arn`, `client_context`, `cognito_identity`).
    public var attributes: Attributes = [:]
    /// Whether the platform retries this run when it fails (Pub/Sub and Eventarc deliveries, Cloud
    /// Scheduler, queue messages, Lambda's asynchronous events, Cloud Run job tasks): in-process
    /// retries are then kept short (``RetryPolicy/bounded(for:attempts:)``) so the two do not multiply.
    public var platformRetries: Bool

    public init(
        payload: Data = Data(),
        trigger: Trigger,
        logicalTime: Date = Date(),
        dataInterval: DateInterval? = nil,
        attempt: Int = 1,
        deadline: Date? = nil,
        requestID: String = RequestID.generate(),
        traceID: String? = nil,
        idempotencyKey: String? = nil,
        dryRun: Bool = false
    ) {
        self.payload = payload
        self.trigger = trigger
        self.logicalTime = logicalTime
        self.dataInterval = dataInterval
        self.attempt = attempt
        self.deadline = deadline
        self.requestID = requestID
        self.traceID = traceID
        self.idempotencyKey = idempotencyKey ?? requestID
        self.dryRun = dryRun
        switch trigger {
        case .pubsub, .scheduler, .cloudEvent, .queue: platformRetries = true
        case .command, .schedule, .lambda, .http: platformRetries = false
        }
    }

    /// The payload decoded as a JSON object; an empty payload is an empty object.
    /// Throws a data error naming the problem when the payload is not a JSON object.
    public func jsonObject() throws(TaskShimError) -> [String: JSONValue] {
        if payload.allSatisfy({ $0 == 0x20 || $0 == 0x0A || $0 == 0x0D || $0 == 0x09 }) {
            return [:]
        }
        guard let value = JSONValue.parse(payload) else {
            throw .data("The event is not valid JSON (\(payload.count) bytes).",
                        hint: "Pass a JSON object, for example --event '{\"stream_name\":\"x\"}'.")
        }
        guard let object = value.object else {
            throw .data("The event is JSON but not an object.", hint: "Pass a JSON object such as {}.")
        }
        return object
    }
}
