import FoundationEssentials
import Logging
import Synchronization
import TaskShimCore

/// Claims jobs from a queue and runs each with the handler its type names, up to `concurrency` at a
/// time. While a job runs its lease is renewed; the worker also returns the jobs of dead workers to
/// the queue. Queue calls go through the queue's breaker and retry budget, so a database restart
/// pauses the worker instead of ending it.
public struct Worker: Sendable {
    public struct Configuration: Sendable {
        public var queues: [String] = ["default"]
        public var concurrency = 1
        public var workerID: String
        /// How long a claimed job is ours without a heartbeat; renewed every third of it.
        public var lease: Duration = .seconds(30)
        /// How long to wait before asking again when the queue had nothing.
        public var pollInterval: Duration = .seconds(1)
        /// The most a job may run (its invocation's deadline).
        public var jobTimeout: Duration = .seconds(900)
        /// Stop after this many jobs.
        public var maxJobs: Int?
        /// Stop once the queue has nothing available (RQ's burst mode).
        public var burst = false
        /// Claim once, run what was claimed, stop.
        public var once = false

        public init(workerID: String) {
            self.workerID = workerID
        }
    }

    public let queue: any JobQueue
    public let registry: HandlerRegistry
    public let runner: Runner
    public let configuration: Configuration
    public let logger: Logger

    public init(queue: any JobQueue, registry: HandlerRegistry, runner: Runner, configuration: Configuration, logger: Logger) {
        self.queue = queue
        self.registry = registry
        self.runner = runner
        self.configuration = configuration
        self.logger = logger
    }

    private var dependency: String { "queue:" + queue.displayName }

    /// Queue calls: retried on temporary failures (a restarting database) under the queue's breaker.
    private func call<T: Sendable>(_ what: String, _ operation: @escaping @Sendable () async throws -> T) async throws -> T {
        let policy = RetryPolicy(maxAttempts: 8, baseDelay: .milliseconds(200), maxDelay: .seconds(5))
        return try await runner.dependencies.call(dependency, what, policy: policy, logger: logger) { _ in try await operation() }
    }

    /// Runs until cancelled (SIGTERM), or as `maxJobs`, `burst` or `once` say; returns the jobs run.
    /// On cancellation no new job is claimed; running handlers are cancelled and their jobs go back
    /// to the queue as failed tries.
    public func run() async throws -> Int {
        try await call("queue migration") { try await queue.migrate() }
        let running = RunningJobs()
        let keeper = Task { [self] in await keepLeases(running) }
        defer { keeper.cancel() }
        var claimed = 0
        var finished = 0
        try await withThrowingTaskGroup(of: Void.self) { group in
            var active = 0
            while !Task.isCancelled {
                if let maxJobs = configuration.maxJobs, claimed >= maxJobs { break }
                if active >= configuration.concurrency {
                    try await group.next()
                    active -= 1
                    finished += 1
                    continue
                }
                let room = min(configuration.concurrency - active, configuration.maxJobs.map { $0 - claimed } ?? Int.max)
                let queues = configuration.queues, worker = configuration.workerID, lease = configuration.lease
                let jobs = try await call("claiming jobs") { try await queue.claim(queues: queues, worker: worker, limit: room, lease: lease) }
                claimed += jobs.count
                for job in jobs {
                    running.insert(job.id)
                    active += 1
                    group.addTask { [self] in
                        await process(job)
                        running.remove(job.id)
                    }
                }
                if configuration.once { break }
                if jobs.isEmpty {
                    if active > 0 {
                        try await group.next()
                        active -= 1
                        finished += 1
                    } else if configuration.burst {
                        break
                    } else {
                        try? await Task.sleep(for: configuration.pollInterval)
                    }
                }
            }
            while try await group.next() != nil { finished += 1 }
        }
        return finished
    }

    /// Renews the leases of running jobs every third of the lease, and rescues dead workers' jobs.
    private func keepLeases(_ running: RunningJobs) async {
        var sinceRescue = Duration.zero
        let beat = configuration.lease / 3
        while !Task.isCancelled {
            if sinceRescue == .zero {
                if let rescued = try? await queue.rescue(), rescued > 0 {
                    logger.warning("jobs of a dead worker returned to the queue", metadata: ["jobs": .stringConvertible(rescued)])
                }
            }
            try? await Task.sleep(for: beat)
            let ids = running.ids
            do {
                try await queue.heartbeat(ids, worker: configuration.workerID, lease: configuration.lease)
            } catch {
                logger.warning("could not renew job leases", metadata: ["error": .string("\(error)")])
            }
            sinceRescue += beat
            if sinceRescue >= configuration.lease { sinceRescue = .zero }
        }
    }

    /// Runs one job and records how it ended. The record is written even when the worker is being
    /// stopped (in a task of its own, which the stop does not cancel).
    func process(_ job: Job) async {
        let worker = configuration.workerID
        let handler: any Handler
        do {
            handler = try registry.resolve(job.type)
        } catch {
            logger.error("job of an unknown type failed", metadata: ["job_id": .stringConvertible(job.id), "job_type": .string(job.type),
                                                                     "error": .string(error.description)])
            _ = await record { try await queue.fail(job, worker: worker, error: error.description, retryable: false) }
            return
        }
        let outcome = await runner.run(handler, job.invocation(deadline: Date().addingTimeInterval(configuration.jobTimeout.seconds)))
        if let error = outcome.error {
            let fate = await record { try await queue.fail(job, worker: worker, error: error.description, retryable: error.isRetryable) }
            if fate == .failed {
                logger.error("job failed for good", metadata: ["job_id": .stringConvertible(job.id), "job_type": .string(job.type),
                                                               "attempt": .stringConvertible(job.attempt), "error": .string(error.description)])
            }
        } else {
            let result = JSONValue.isValid(outcome.output) ? outcome.output
                : outcome.output.isEmpty ? Data("null".utf8) : Data(JSONLine.quoted(String(decoding: outcome.output, as: UTF8.self)).utf8)
            let mine = await record { try await queue.complete(job, worker: worker, result: result) }
            if mine == false {
                logger.warning("job finished after its lease ran out; another worker may run it again",
                               metadata: ["job_id": .stringConvertible(job.id), "attempt": .stringConvertible(job.attempt)])
            }
        }
    }

    /// Writes a job's end through the queue's retries, in an unstructured task: a stopping worker's
    /// cancellation must not cancel the write that returns the job to the queue.
    private func record<T: Sendable>(_ operation: @escaping @Sendable () async throws -> T) async -> T? {
        let worker = self
        let task = Task { try await worker.call("recording a job's end", operation) }
        do {
            return try await task.value
        } catch {
            logger.error("could not record a job's end; its lease will run out and it will run again",
                         metadata: ["error": .string("\(error)")])
            return nil
        }
    }
}

/// The ids of the jobs a worker is running, for its lease renewals.
final class RunningJobs: Sendable {
    private let ids_ = Mutex<Set<Int64>>([])
    func insert(_ id: Int64) { ids_.withLock { _ = $0.insert(id) } }
    func remove(_ id: Int64) { ids_.withLock { _ = $0.remove(id) } }
    var ids: [Int64] { ids_.withLock { Array($0) } }
}
