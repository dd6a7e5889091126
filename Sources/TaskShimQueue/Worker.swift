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
        /// Jobs claimed ahead of free slots (leased and renewed while they wait), so short jobs do
        /// not wait for a claim round trip each; nil sizes it to the jobs' pace (``PrefetchWindow``).
        public var prefetch: Int?
        /// How long finished jobs are kept before the worker deletes them (nil: forever); checked at
        /// start and every ten minutes.
        public var keepCompleted: Duration? = .seconds(7 * 86_400)
        public var keepFailed: Duration? = .seconds(30 * 86_400)

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
        await prune()
        let running = RunningJobs()
        let keeper = Task { [self] in await keepLeases(running) }
        // Told of new jobs (LISTEN/NOTIFY, Pub/Sub), an idle worker claims at once instead of at its next poll.
        let listener = configuration.burst || configuration.once ? nil : Task { [self] in await listen(running) }
        // Results are written in batches by a task of their own: a finished job frees its slot at
        // once, and the task, not cancelled by a stop, writes what is left before the worker returns.
        let results = ResultBuffer()
        let writer = Task { [self] in await writeResults(results, running: running) }
        // Claimed jobs wait in a local buffer; `concurrency` long-lived slots take from it, so a
        // short job costs no task creation and no wake-up of the claim loop. The loop refills the
        // buffer once half the prefetch is left (or, without prefetch, once it is empty).
        let buffer = JobBuffer()
        var prefetch = PrefetchWindow(concurrency: configuration.concurrency, fixed: configuration.prefetch)
        var claimed = 0
        var failedClaims = 0
        await withDiscardingTaskGroup { group in
            for _ in 0..<configuration.concurrency {
                group.addTask { [self] in
                    while let job = await buffer.take() {
                        running.insert(job.id)
                        let start = ContinuousClock.now
                        await process(job, results: results, running: running)
                        running.finish(job.id, took: ContinuousClock.now - start)
                    }
                }
            }
            while !Task.isCancelled {
                if configuration.maxJobs.map({ claimed >= $0 }) ?? false { break }
                await buffer.waitUntilLow(atMost: prefetch.size / 2)
                if Task.isCancelled { break }
                let seen = running.finished
                if let mean = running.takeMeanDuration() { prefetch.jobsTook(mean) }
                let room = configuration.concurrency + prefetch.size - buffer.count - running.count
                let want = min(room, configuration.maxJobs.map { $0 - claimed } ?? Int.max)
                if want <= 0 {
                    // Every slot busy and the buffer full: wait for a slot.
                    await running.waitForAFinish(after: seen, orAfter: nil)
                    continue
                }
                let jobs: [Job]
                do {
                    let start = ContinuousClock.now
                    // A stop lets a claim in flight finish (up to 2 s, so an unreachable database cannot hold the
                    // stop up): the jobs it leased then reach the buffer and are released, untried.
                    let (queue, configuration) = (queue, configuration)
                    let claim = Task {
                        try await queue.claim(queues: configuration.queues, worker: configuration.workerID, limit: want, lease: configuration.lease)
                    }
                    jobs = try await withTaskCancellationHandler {
                        try await claim.value
                    } onCancel: {
                        Task {
                            try? await Task.sleep(for: .seconds(2))
                            claim.cancel()
                        }
                    }
                    if !jobs.isEmpty { prefetch.claimTook(ContinuousClock.now - start) }
                    failedClaims = 0
                } catch {
                    if Task.isCancelled { break }
                    // The queue is unreachable: pause with backoff (logged), never give up on it.
                    failedClaims += 1
                    let wait = RetryPolicy(maxAttempts: 1, baseDelay: .milliseconds(200), maxDelay: .seconds(30)).delayCap(after: failedClaims)
                    if failedClaims == 1 || failedClaims % 10 == 0 {
                        logger.warning("cannot claim jobs; retrying", metadata: ["queue": .string(queue.displayName), "error": .string("\(error)"),
                                                                                 "failed_claims": .stringConvertible(failedClaims)])
                    }
                    await running.waitForAFinish(after: seen, orAfter: wait)
                    continue
                }
                claimed += jobs.count
                for job in jobs { running.hold(job.id) }
                buffer.put(jobs)
                if configuration.once { break }
                if jobs.isEmpty && buffer.count == 0 {
                    if configuration.burst {
                        // Burst: done once nothing is available and nothing runs that could add more.
                        if running.count == 0 { break }
                        await running.waitForAFinish(after: seen, orAfter: nil)
                    } else {
                        // Poll again after the interval (a finished job may have added more: sooner).
                        await running.waitForAFinish(after: seen, orAfter: configuration.pollInterval)
                    }
                }
            }
            // --once, --max-jobs, burst: the slots run what is buffered, then end (a stop ends them sooner).
            buffer.finish()
        }
        // Claimed jobs that never started (the worker was stopped) go back at once.
        for job in buffer.close() {
            let worker = configuration.workerID
            _ = await record { try await queue.release(job, worker: worker) }
            running.forgetLease(job.id)
        }
        results.close()
        await writer.value
        // Awaited, not just cancelled: a client call still running on another thread while the
        // process exits would race the C libraries' exit handlers (a crash at exit).
        keeper.cancel()
        listener?.cancel()
        await keeper.value
        await listener?.value
        return running.finished
    }

    /// Writes finished jobs' results, as many per statement as have gathered, until the buffer is
    /// closed and empty.
    private func writeResults(_ results: ResultBuffer, running: RunningJobs) async {
        let worker = configuration.workerID
        while let batch = await results.next() {
            var recorded: Set<Int64>?
            // A database that is restarting (its breaker open) gets a few more chances, the leases kept
            // meanwhile: a finished job should not run again for a blip.
            for round in 1...5 where recorded == nil {
                do {
                    recorded = try await Task { try await call("recording results") { try await queue.complete(batch, worker: worker) } }.value
                } catch let error as TaskShimError where error.status == .dataError {
                    // A result the database refuses (jsonb has no \u0000) must not sink its batch: one by one,
                    // and a refused one fails its job instead of leaving it to run again forever.
                    recorded = await writeOneByOne(batch, refusal: error)
                } catch {
                    if round == 5 {
                        logger.error("could not record results; their jobs' leases will run out and they will run again",
                                     metadata: ["jobs": .stringConvertible(batch.count), "error": .string("\(error)")])
                        break
                    }
                    try? await Task.sleep(for: RetryPolicy(maxAttempts: 1, baseDelay: .seconds(1), maxDelay: .seconds(8)).delayCap(after: round))
                }
            }
            guard let recorded else {
                for entry in batch { running.forgetLease(entry.job.id) }
                continue
            }
            for entry in batch { running.forgetLease(entry.job.id) }
            for entry in batch where !recorded.contains(entry.job.id) {
                logger.warning("job finished after its lease ran out; another worker may run it again",
                               metadata: ["job_id": .stringConvertible(entry.job.id), "attempt": .stringConvertible(entry.job.attempt)])
            }
        }
    }

    /// Wakes the claim loop whenever the queue says jobs became available, until cancelled; returns at
    /// once when the backend cannot say. A lost connection is opened again after a pause (polling
    /// goes on meanwhile).
    private func listen(_ running: RunningJobs) async {
        var failures = 0
        var listening = false
        while !Task.isCancelled {
            do {
                // Short waits, so a stopping worker is not held up by one.
                guard let told = try await queue.waitForJobs(queues: configuration.queues, timeout: .seconds(1)) else { return }
                if failures > 0 || !listening {
                    listening = true
                    logger.debug("listening for new jobs", metadata: ["queue": .string(queue.displayName)])
                }
                failures = 0
                if told { running.nudge() }
            } catch {
                if Task.isCancelled { return }
                failures += 1
                if failures == 1 {
                    logger.notice("not told of new jobs for now; polling", metadata: ["error": .string("\(error)")])
                }
                try? await Task.sleep(for: RetryPolicy(maxAttempts: 1, baseDelay: .milliseconds(500), maxDelay: .seconds(30)).delayCap(after: failures))
            }
        }
    }

    /// Renews the leases of running jobs every third of the lease, and rescues dead workers' jobs.
    private func keepLeases(_ running: RunningJobs) async {
        var sinceRescue = Duration.zero
        let beat = configuration.lease / 3
        var lastPrune = ContinuousClock.now
        while !Task.isCancelled {
            if ContinuousClock.now - lastPrune >= .seconds(600) {
                lastPrune = .now
                await prune()
            }
            if sinceRescue == .zero {
                if let rescued = try? await queue.rescue(queues: configuration.queues, lease: configuration.lease), rescued > 0 {
                    logger.warning("jobs of a dead worker returned to the queue", metadata: ["jobs": .stringConvertible(rescued)])
                }
            }
            try? await Task.sleep(for: beat)
            let ids = running.leasedIDs
            do {
                try await queue.heartbeat(ids, worker: configuration.workerID, lease: configuration.lease)
            } catch {
                logger.warning("could not renew job leases", metadata: ["error": .string("\(error)")])
            }
            sinceRescue += beat
            if sinceRescue >= configuration.lease { sinceRescue = .zero }
        }
    }

    /// Deletes finished jobs past their retention, in the worker's queues.
    private func prune() async {
        for (status, keep) in [(JobStatus.completed, configuration.keepCompleted), (.failed, configuration.keepFailed)] {
            guard let keep else { continue }
            for name in configuration.queues where !Task.isCancelled {
                do {
                    let deleted = try await queue.purge(queue: name, status: status, before: Date().addingTimeInterval(-keep.seconds))
                    if deleted > 0 {
                        logger.info("old jobs deleted", metadata: ["queue_name": .string(name), "status": .string(status.rawValue),
                                                                   "jobs": .stringConvertible(deleted)])
                    }
                } catch {
                    logger.warning("could not delete old jobs", metadata: ["queue_name": .string(name), "error": .string("\(error)")])
                }
            }
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
            } catch let error as TaskShimError where error.status == .dataError {
                let reason = "the handler succeeded but its result could not be stored: \(error)"
                _ = await record { try await queue.fail(entry.job, worker: worker, error: reason, retryable: false) }
                recorded.insert(entry.job.id)
            } catch {
                // Not the result's fault: the lease runs out and the job runs again.
                recorded.insert(entry.job.id)
                logger.error("could not record a result", metadata: ["job_id": .stringConvertible(entry.job.id), "error": .string("\(error)")])
            }
        }
        return recorded
    }

    func process(_ job: Job, results: ResultBuffer, running: RunningJobs) async {
        let worker = configuration.workerID
        let handler: any Handler
        do {
            handler = try registry.resolve(job.type)
        } catch {
            logger.error("job of an unknown type failed", metadata: ["job_id": .stringConvertible(job.id), "job_type": .string(job.type),
                                                                     "error": .string(error.description)])
            _ = await record { try await queue.fail(job, worker: worker, error: error.description, retryable: false) }
            running.forgetLease(job.id)
            return
        }
        let outcome = await runner.run(handler, job.invocation(deadline: Date().addingTimeInterval(configuration.jobTimeout.seconds)))
        if outcome.error != nil, Task.isCancelled {
            // The worker is stopping and cancelled the handler: not the job's failure. Another worker takes it at once.
            _ = await record { try await queue.release(job, worker: worker) }
            running.forgetLease(job.id)
            logger.notice("job released: the worker is stopping", metadata: ["job_id": .stringConvertible(job.id)])
            return
        }
        if let error = outcome.error {
            let fate = await record { try await queue.fail(job, worker: worker, error: error.description, retryable: error.isRetryable) }
            running.forgetLease(job.id)
            if fate == .ignored {
                logger.warning("job failed after its lease ran out; another worker may run it again",
                               metadata: ["job_id": .stringConvertible(job.id), "attempt": .stringConvertible(job.attempt)])
            } else if fate == .failed {
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

/// The jobs a worker is running (its free slots), the jobs whose lease it must renew (running, or
/// finished with the result not yet written), and a wake-up for the claim loop when one finishes.
final class RunningJobs: Sendable {
    private struct State {
        var running: Set<Int64> = []
        var leased: Set<Int64> = []
        var finished = 0
        var waiter: CheckedContinuation<Void, Never>?
        /// Numbers each wait, so a timer wakes only its own, even when it fires before the wait is stored.
        var wait = 0
        var expired = -1
        /// New jobs were announced: the next wait returns at once.
        var nudged = false
        var durations: (count: Int, total: Duration) = (0, .zero)
    }
    private let state = Mutex(State())

    func insert(_ id: Int64) {
        state.withLock {
            _ = $0.running.insert(id)
            _ = $0.leased.insert(id)
        }
    }

    /// Claimed ahead, not started: its lease is renewed.
    func hold(_ id: Int64) { state.withLock { _ = $0.leased.insert(id) } }

    /// The handler is done: the slot is free (the lease is kept until the end is written).
    func finish(_ id: Int64, took duration: Duration) {
        let waiter = state.withLock { state -> CheckedContinuation<Void, Never>? in
            state.running.remove(id)
            state.finished += 1
            state.durations.count += 1
            state.durations.total += duration
            defer { state.waiter = nil }
            return state.waiter
        }
        waiter?.resume()
    }

    /// The mean duration of the jobs finished since the last call; nil when none did.
    func takeMeanDuration() -> Double? {
        state.withLock { state in
            defer { state.durations = (0, .zero) }
            return state.durations.count == 0 ? nil : state.durations.total.seconds / Double(state.durations.count)
        }
    }

    /// The job's end is written: no more lease renewals.
    func forgetLease(_ id: Int64) { state.withLock { _ = $0.leased.remove(id) } }

    var leasedIDs: [Int64] { state.withLock { Array($0.leased) } }
    var count: Int { state.withLock { $0.running.count } }
    var finished: Int { state.withLock { $0.finished } }

    /// Returns once more jobs have finished than `seen` (at once if that already happened), after
    /// `timeout` (nil: no limit; at once when nothing runs), or when the task is cancelled.
    func waitForAFinish(after seen: Int, orAfter timeout: Duration?) async {
        let number = state.withLock { state -> Int in
            state.wait += 1
            return state.wait
        }
        let timer = timeout.map { timeout in Task { [self] in
            try? await Task.sleep(for: timeout)
            if !Task.isCancelled { expire(number) }
        } }
        defer { timer?.cancel() }
        await withTaskCancellationHandler {
            await withCheckedContinuation { continuation in
                let now = state.withLock { state -> Bool in
                    if state.finished != seen || (state.running.isEmpty && timeout == nil) || state.expired == number || state.nudged
                        || Task.isCancelled {
                        state.nudged = false
                        return true
                    }
                    state.waiter = continuation
                    return false
                }
                if now { continuation.resume() }
            }
        } onCancel: {
            expire(number)
        }
    }

    /// New jobs are available: ends the current wait, or the next one at once.
    func nudge() {
        let waiter = state.withLock { state -> CheckedContinuation<Void, Never>? in
            guard let waiter = state.waiter else {
                state.nudged = true
                return nil
            }
            state.waiter = nil
            return waiter
        }
        waiter?.resume()
    }

    /// Ends wait `number`: now if it is waiting, else as soon as it starts to.
    private func expire(_ number: Int) {
        let waiter = state.withLock { state -> CheckedContinuation<Void, Never>? in
            guard state.wait == number else { return nil }
            state.expired = number
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
