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
    /// to the queue, available at once, their attempt not counted.
    public func run() async throws -> Int {
        try await call("queue migration") { try await queue.migrate() }
        let running = RunningJobs()
        let keeper = Task { [self] in await keepLeases(running) }
        defer { keeper.cancel() }
        // Results are written in batches by a task of their own: a finished job frees its slot at
        // once, and the task, not cancelled by a stop, writes what is left before the worker returns.
        let results = ResultBuffer()
        let writer = Task { [self] in await writeResults(results) }
        defer { writer.cancel() }
        var claimed = 0
        try await withThrowingDiscardingTaskGroup { group in
            while !Task.isCancelled {
                if let maxJobs = configuration.maxJobs, claimed >= maxJobs { break }
                let room = min(configuration.concurrency - running.count, configuration.maxJobs.map { $0 - claimed } ?? Int.max)
                if room <= 0 {
                    await running.waitForAFinish(orAfter: nil)
                    continue
                }
                let queues = configuration.queues, worker = configuration.workerID, lease = configuration.lease
                let jobs = try await call("claiming jobs") { try await queue.claim(queues: queues, worker: worker, limit: room, lease: lease) }
                claimed += jobs.count
                for job in jobs {
                    running.insert(job.id)
                    group.addTask { [self] in
                        await process(job, results: results)
                        running.remove(job.id)
                    }
                }
                if configuration.once { break }
                if jobs.isEmpty {
                    if configuration.burst {
                        // Burst: done once nothing is available and nothing runs that could add more.
                        if running.count == 0 { break }
                        await running.waitForAFinish(orAfter: nil)
                    } else {
                        // Poll again after the interval, or as soon as a slot frees up.
                        await running.waitForAFinish(orAfter: configuration.pollInterval)
                    }
                }
            }
        }
        results.close()
        await writer.value
        return running.finished
    }

    /// Writes finished jobs' results, as many per statement as have gathered, until the buffer is
    /// closed and empty.
    private func writeResults(_ results: ResultBuffer) async {
        let worker = configuration.workerID
        while let batch = await results.next() {
            let recorded: Set<Int64>
            do {
                recorded = try await Task { try await call("recording results") { try await queue.complete(batch, worker: worker) } }.value
            } catch let error as TaskShimError where error.status == .dataError {
                // A result the database refuses (jsonb has no \u0000) must not sink its batch: one by one,
                // and a refused one fails its job instead of leaving it to run again forever.
                recorded = await writeOneByOne(batch, refusal: error)
            } catch {
                logger.error("could not record results; their jobs' leases will run out and they will run again",
                             metadata: ["jobs": .stringConvertible(batch.count), "error": .string("\(error)")])
                continue
            }
            for entry in batch where !recorded.contains(entry.job.id) {
                logger.warning("job finished after its lease ran out; another worker may run it again",
                               metadata: ["job_id": .stringConvertible(entry.job.id), "attempt": .stringConvertible(entry.job.attempt)])
            }
        }
    }

    /// Renews the leases of running jobs every third of the lease, and rescues dead workers' jobs.
    private func keepLeases(_ running: RunningJobs) async {
        var sinceRescue = Duration.zero
        let beat = configuration.lease / 3
        while !Task.isCancelled {
            if sinceRescue == .zero {
                if let rescued = try? await queue.rescue(queues: configuration.queues), rescued > 0 {
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
    private func writeOneByOne(_ batch: [(job: Job, result: Data)], refusal: TaskShimError) async -> Set<Int64> {
        let worker = configuration.workerID
        var recorded: Set<Int64> = []
        for entry in batch {
            do {
                if try await queue.complete(entry.job, worker: worker, result: entry.result) { recorded.insert(entry.job.id) }
            } catch {
                let reason = "the handler succeeded but its result could not be stored: \(error)"
                _ = await record { try await queue.fail(entry.job, worker: worker, error: reason, retryable: false) }
                recorded.insert(entry.job.id)
            }
        }
        return recorded
    }

    func process(_ job: Job, results: ResultBuffer) async {
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
        if outcome.error != nil, Task.isCancelled {
            // The worker is stopping and cancelled the handler: not the job's failure. Another worker takes it at once.
            _ = await record { try await queue.release(job, worker: worker) }
            logger.notice("job released: the worker is stopping", metadata: ["job_id": .stringConvertible(job.id)])
            return
        }
        if let error = outcome.error {
            let fate = await record { try await queue.fail(job, worker: worker, error: error.description, retryable: error.isRetryable) }
            if fate == .failed {
                logger.error("job failed for good", metadata: ["job_id": .stringConvertible(job.id), "job_type": .string(job.type),
                                                               "attempt": .stringConvertible(job.attempt), "error": .string(error.description)])
            }
        } else {
            let result = JSONValue.isValid(outcome.output) ? outcome.output
                : outcome.output.isEmpty ? Data("null".utf8) : Data(JSONLine.quoted(String(decoding: outcome.output, as: UTF8.self)).utf8)
            results.add(job, result)
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

/// The jobs a worker is running (for its lease renewals and its free slots), and a wake-up for
/// the claim loop when one finishes.
final class RunningJobs: Sendable {
    private struct State {
        var ids: Set<Int64> = []
        var finished = 0
        var waiter: CheckedContinuation<Void, Never>?
    }
    private let state = Mutex(State())

    func insert(_ id: Int64) { state.withLock { _ = $0.ids.insert(id) } }

    func remove(_ id: Int64) {
        let waiter = state.withLock { state -> CheckedContinuation<Void, Never>? in
            state.ids.remove(id)
            state.finished += 1
            defer { state.waiter = nil }
            return state.waiter
        }
        waiter?.resume()
    }

    var ids: [Int64] { state.withLock { Array($0.ids) } }
    var count: Int { state.withLock { $0.ids.count } }
    var finished: Int { state.withLock { $0.finished } }

    /// Returns when a running job finishes, or after `timeout` (nil: only on a finish, or at once when
    /// nothing runs).
    func waitForAFinish(orAfter timeout: Duration?) async {
        let timer = timeout.map { timeout in Task { [self] in
            try? await Task.sleep(for: timeout)
            wake()
        } }
        defer { timer?.cancel() }
        await withCheckedContinuation { continuation in
            let now = state.withLock { state -> Bool in
                if state.ids.isEmpty && timeout == nil { return true }
                state.waiter = continuation
                return false
            }
            if now { continuation.resume() }
        }
    }

    private func wake() {
        let waiter = state.withLock { state -> CheckedContinuation<Void, Never>? in
            defer { state.waiter = nil }
            return state.waiter
        }
        waiter?.resume()
    }
}

/// Finished jobs waiting for their result to be written.
final class ResultBuffer: Sendable {
    private struct State {
        var entries: [(job: Job, result: Data)] = []
        var closed = false
    }
    private let state = Mutex(State())
    private let wakeup = Wakeup()

    func add(_ job: Job, _ result: Data) {
        state.withLock { $0.entries.append((job: job, result: result)) }
        wakeup.signal()
    }

    /// No more results will come.
    func close() {
        state.withLock { $0.closed = true }
        wakeup.signal()
    }

    /// Everything gathered so far (at most 500), waiting for some; nil once closed and empty.
    func next() async -> [(job: Job, result: Data)]? {
        while true {
            let (batch, done) = state.withLock { state -> ([(job: Job, result: Data)], Bool) in
                let count = min(state.entries.count, 500)
                let batch = Array(state.entries.prefix(count))
                state.entries.removeFirst(count)
                return (batch, state.closed && state.entries.isEmpty)
            }
            if !batch.isEmpty { return batch }
            if done { return nil }
            await wakeup.wait()
        }
    }
}
