import FoundationEssentials
import TaskShimCore

/// A durable queue of jobs with at-least-once delivery: a claimed job is leased to one worker; the
/// lease is renewed while the job runs (``heartbeat(_:worker:lease:)``) and a job whose lease ran out
/// (its worker died) goes back to the queue (``rescue()``) with its attempt counted.
public protocol JobQueue: Sendable {
    /// A description without credentials, for logs.
    var displayName: String { get }
    /// Creates the queue's tables and indexes if they are missing.
    func migrate() async throws
    /// Adds a job; its id, or nil when a job with the same unique key is already waiting or running.
    func enqueue(_ job: NewJob) async throws -> Int64?
    /// Leases up to `limit` available jobs of `queues` to `worker` for `lease`, highest priority and
    /// oldest first; jobs claimed by another worker at the same time are skipped, never shared.
    func claim(queues: [String], worker: String, limit: Int, lease: Duration) async throws -> [Job]
    /// Records a job's success and result (JSON). False when the job is no longer this worker's (its
    /// lease ran out and it was rescued).
    func complete(_ job: Job, worker: String, result: Data) async throws -> Bool
    /// Records a failed try: back to the queue after the job's retry delay × attempt while tries are
    /// left and `retryable`, else failed with the error kept.
    func fail(_ job: Job, worker: String, error: String, retryable: Bool) async throws -> JobFate
    /// Extends the leases of the worker's running jobs.
    func heartbeat(_ jobs: [Int64], worker: String, lease: Duration) async throws
    /// Returns jobs whose lease ran out to the queue (or fails them when out of tries); how many.
    func rescue() async throws -> Int
    /// Counts per status.
    func stats(queue: String?) async throws -> QueueStats
}
