import FoundationEssentials
import TaskShimCore

/// A durable queue of jobs with at-least-once delivery: a claimed job is leased to one worker; the
/// lease is renewed while the job runs (``heartbeat(_:worker:lease:)``) and a job whose lease ran out
/// (its worker died) goes back to the queue (``rescue(queues:lease:)``) with its attempt counted.
public protocol JobQueue: Sendable {
    /// A description without credentials, for logs.
    var displayName: String { get }
    /// Creates the queue's tables and indexes if they are missing.
    func migrate() async throws
    /// Adds jobs in one round trip (callers send at most a few thousand at once); the ids of the
    /// jobs added, in order, leaving out those whose unique key a waiting or running job holds.
    func enqueue(_ jobs: [NewJob]) async throws -> [Int64]
    /// Leases up to `limit` available jobs of `queues` to `worker` for `lease`: the queues in the
    /// order given, in each the highest priority and oldest first; jobs claimed by another worker at
    /// the same time are skipped, never shared.
    func claim(queues: [String], worker: String, limit: Int, lease: Duration) async throws -> [Job]
    /// Records jobs' successes and results (JSON) in one go; the ids recorded. A job missing from the
    /// answer is no longer this worker's (its lease ran out and it was rescued).
    func complete(_ results: [(job: Job, result: Data)], worker: String) async throws -> Set<Int64>
    /// Records a failed try: back to the queue after the job's retry delay (``JobBackoff``) while
    /// tries are left and `retryable`, else failed with the error kept; ignored when the try is no
    /// longer this worker's.
    func fail(_ job: Job, worker: String, error: String, retryable: Bool) async throws -> JobFate
    /// Gives a job back untried (its worker is stopping): available at once, the attempt not counted.
    func release(_ job: Job, worker: String) async throws
    /// Extends the leases of the worker's running jobs.
    func heartbeat(_ jobs: [Int64], worker: String, lease: Duration) async throws
    /// Returns jobs of `queues` whose lease ran out to the queue (or fails them when out of tries); how
    /// many. `lease` is how long a worker may go without renewing, for a table that keeps only when
    /// the job was last renewed (the `workflow.async_jobs` compatibility mode).
    func rescue(queues: [String], lease: Duration) async throws -> Int
    /// Counts per status.
    func stats(queue: String?) async throws -> QueueStats

    /// Waits up to `timeout` to be told that jobs became available in one of `queues` (PostgreSQL's
    /// `LISTEN/NOTIFY`, Redis's Pub/Sub): true when told, false when the time ran out, nil when the
    /// backend cannot tell (the worker then only polls).
    func waitForJobs(queues: [String], timeout: Duration) async throws -> Bool?

    // Operations (`runtime jobs`)

    /// One job, whatever its status; nil when there is none with that id.
    func job(_ id: Int64) async throws -> JobRecord?
    /// Up to `limit` jobs, the newest first, of one queue and status or all.
    func list(queue: String?, status: JobStatus?, limit: Int) async throws -> [JobRecord]
    /// Puts failed jobs back, available at once with their tries counted anew: the one with `id`, or
    /// (id nil) every failed job of `queue` (all queues when nil). How many went back.
    func retry(id: Int64?, queue: String?) async throws -> Int
    /// Deletes finished jobs (completed, failed, or the one status given) that finished before
    /// `before`; how many. Retention runs it from the worker.
    func purge(queue: String?, status: JobStatus?, before: Date) async throws -> Int
}

extension JobQueue {
    /// Adds a job; its id, or nil when a job with the same unique key is already waiting or running.
    public func enqueue(_ job: NewJob) async throws -> Int64? {
        try await enqueue([job]).first
    }

    /// Records one job's success; false when it is no longer this worker's.
    public func complete(_ job: Job, worker: String, result: Data) async throws -> Bool {
        try await complete([(job: job, result: result)], worker: worker).contains(job.id)
    }
}
