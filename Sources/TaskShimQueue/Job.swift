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
    /// A payload holding `logical_time` (RFC 3339) and `idempotency_key`, as `runtime schedule --enqueue`
    /// writes them, runs for that time under that key; any other job runs for now, keyed by its id.
    private static let logicalTimeKey = Array("\"logical_time\"".utf8)

    public func invocation(deadline: Date?) -> Invocation {
        // Parsed only when it can hold them: this runs for every job a worker claims.
        let scheduled = payload.containsBytes(Self.logicalTimeKey) ? JSONValue.parse(payload)?.object : nil
        var invocation = Invocation(payload: payload, trigger: .queue,
                                    logicalTime: scheduled?["logical_time"]?.string.flatMap(Timestamp.parse) ?? Date(), attempt: attempt,
                                    deadline: deadline, requestID: "job-\(id)-\(attempt)",
                                    idempotencyKey: scheduled?["idempotency_key"]?.string ?? "job-\(id)")
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
    /// How the retry delay grows with the attempt.
    public var backoff: JobBackoff
    public var priority: Int
    /// While a job with this key is queued or running in the same queue, enqueueing another is a no-op.
    public var uniqueKey: String?

    public init(queue: String = "default", type: String, payload: Data = Data("{}".utf8), delaySeconds: Int = 0,
                maxAttempts: Int = 5, retryDelaySeconds: Int = 30, backoff: JobBackoff = .linear, priority: Int = 0, uniqueKey: String? = nil) {
        self.queue = queue
        self.type = type
        self.payload = payload
        self.delaySeconds = delaySeconds
        self.maxAttempts = maxAttempts
        self.retryDelaySeconds = retryDelaySeconds
        self.backoff = backoff
        self.priority = priority
        self.uniqueKey = uniqueKey
    }
}

/// How long a failed job waits before its next try, from its retry delay `d` and the attempt `n`
/// that failed.
public enum JobBackoff: String, Sendable, CaseIterable {
    /// `d × n`: the Ragonometrics workers' rule.
    case linear
    /// `d × 2^(n-1)`, at most a day, times a random 50-100 % (jitter, so jobs that failed together
    /// do not come back together).
    case exponential
}

/// What became of a job whose try failed.
public enum JobFate: String, Sendable, Equatable {
    /// Back in the queue, available again after the retry delay.
    case retry
    /// Out of tries, or failed for good: kept with its error (the dead letter).
    case failed
    /// No longer this worker's try (its lease ran out and the job was rescued): nothing recorded.
    case ignored
}

/// Counts per status of a queue.
public struct QueueStats: Sendable, Equatable {
    public var queued = 0, retry = 0, running = 0, completed = 0, failed = 0
    public init() {}

    public subscript(status: JobStatus) -> Int {
        get {
            switch status {
            case .queued: queued
            case .retry: retry
            case .running: running
            case .completed: completed
            case .failed: failed
            }
        }
        set {
            switch status {
            case .queued: queued = newValue
            case .retry: retry = newValue
            case .running: running = newValue
            case .completed: completed = newValue
            case .failed: failed = newValue
            }
        }
    }
}

/// Where a job is in its life.
public enum JobStatus: String, Sendable, CaseIterable, Equatable {
    /// Waiting for its first try (or for its `--delay`).
    case queued
    /// Waiting for another try after a temporary failure, a dead worker or a stopping one.
    case retry
    /// Leased to a worker.
    case running
    case completed
    /// Out of tries or failed for good: kept with its error (the dead letter).
    case failed

    /// Done: what retention and `runtime jobs purge` delete.
    public var isFinished: Bool { self == .completed || self == .failed }
}

/// Everything a queue keeps about a job, for `runtime jobs list|show`.
public struct JobRecord: Sendable, Equatable {
    public var id: Int64
    public var queue: String
    public var type: String
    public var status: JobStatus
    public var payload: Data
    public var result: Data?
    public var error: String?
    public var attempt: Int
    public var maxAttempts: Int
    public var priority: Int
    public var uniqueKey: String?
    public var workerID: String?
    public var createdAt: Date?
    public var availableAt: Date?
    public var startedAt: Date?
    public var finishedAt: Date?

    public init(id: Int64, queue: String, type: String, status: JobStatus, payload: Data, result: Data? = nil, error: String? = nil,
                attempt: Int = 0, maxAttempts: Int = 5, priority: Int = 0, uniqueKey: String? = nil, workerID: String? = nil,
                createdAt: Date? = nil, availableAt: Date? = nil, startedAt: Date? = nil, finishedAt: Date? = nil) {
        self.id = id
        self.queue = queue
        self.type = type
        self.status = status
        self.payload = payload
        self.result = result
        self.error = error
        self.attempt = attempt
        self.maxAttempts = maxAttempts
        self.priority = priority
        self.uniqueKey = uniqueKey
        self.workerID = workerID
        self.createdAt = createdAt
        self.availableAt = availableAt
        self.startedAt = startedAt
        self.finishedAt = finishedAt
    }
}
