import FoundationEssentials
import TaskShimCore

/// A job as a worker claims it: what to run (`type` names a handler), with what (`payload`, JSON),
/// and which try this is.
public struct Job: Sendable, Equatable {
    public var id: Int64
    public var queue: String
    public var type: String
    public var payload: Data
    /// 1 on the first try; a job rescued from a dead worker or retried after a failure counts up.
    public var attempt: Int
    public var maxAttempts: Int
    public var retryDelaySeconds: Int

    public init(id: Int64, queue: String, type: String, payload: Data, attempt: Int, maxAttempts: Int, retryDelaySeconds: Int) {
        self.id = id
        self.queue = queue
        self.type = type
        self.payload = payload
        self.attempt = attempt
        self.maxAttempts = maxAttempts
        self.retryDelaySeconds = retryDelaySeconds
    }

    /// The invocation a handler gets for this job: trigger `queue`, the job's attempt, an idempotency
    /// key every try of the job shares.
    public func invocation(deadline: Date?) -> Invocation {
        var invocation = Invocation(payload: payload, trigger: .queue, attempt: attempt, deadline: deadline,
                                    requestID: "job-\(id)-\(attempt)", idempotencyKey: "job-\(id)")
        invocation.attributes["job_id"] = String(id)
        invocation.attributes["job_queue"] = queue
        invocation.attributes["job_type"] = type
        return invocation
    }
}

/// A job to add to a queue.
public struct NewJob: Sendable {
    public var queue: String
    public var type: String
    public var payload: Data
    public var delaySeconds: Int
    public var maxAttempts: Int
    public var retryDelaySeconds: Int
    public var priority: Int
    /// While a job with this key is queued or running in the same queue, enqueueing another is a no-op.
    public var uniqueKey: String?

    public init(queue: String = "default", type: String, payload: Data = Data("{}".utf8), delaySeconds: Int = 0,
                maxAttempts: Int = 5, retryDelaySeconds: Int = 30, priority: Int = 0, uniqueKey: String? = nil) {
        self.queue = queue
        self.type = type
        self.payload = payload
        self.delaySeconds = delaySeconds
        self.maxAttempts = maxAttempts
        self.retryDelaySeconds = retryDelaySeconds
        self.priority = priority
        self.uniqueKey = uniqueKey
    }
}

/// What became of a job whose try failed.
public enum JobFate: String, Sendable, Equatable {
    /// Back in the queue, available again after the retry delay.
    case retry
    /// Out of tries, or failed for good: kept with its error (the dead letter).
    case failed
}

/// Counts per status of a queue.
public struct QueueStats: Sendable, Equatable {
    public var queued = 0, retry = 0, running = 0, completed = 0, failed = 0
    public init() {}
}
