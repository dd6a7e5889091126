import FoundationEssentials
import TaskShimCore

/// Runs a manifest's tasks at their times, in this process: one timer for the next due run, never a
/// poll. Each run gets its scheduled time as its logical time, an idempotency key of the task and that
/// time, and the task's timeout; the task's concurrency policy decides what a run due while the last
/// one still runs does; a run later than the task's starting deadline is skipped (and counted). With
/// shared ``RunClaims`` several schedulers fire each run once between them, and a `forbid` task runs
/// once at a time across all of them: its run holds the task's lease, renewed every third of
/// `lease` while it runs, so a scheduler killed mid-run frees it after at most `lease`.
public actor Scheduler {
    /// What the scheduler asks of its host: run one task for one logical time.
    public typealias Launch = @Sendable (_ task: TaskManifest.Task, _ logicalTime: Date, _ idempotencyKey: String) async -> Void
    /// Things worth a log line (fired, skipped and why, missed runs).
    public typealias Report = @Sendable (_ event: Event) -> Void

    public enum Event: Sendable, Equatable {
        case fired(task: String, logicalTime: Date)
        case skippedRunning(task: String, logicalTime: Date)
        case replaced(task: String, logicalTime: Date)
        case claimedElsewhere(task: String, logicalTime: Date)
        case missed(task: String, logicalTime: Date, count: Int)
        case claimFailed(task: String, logicalTime: Date, error: String)
        /// A `forbid` run skipped because another scheduler's run of the task holds its lease.
        case runningElsewhere(task: String, logicalTime: Date)
        /// A running run's lease could not be renewed: another scheduler took it after it lapsed.
        case leaseLost(task: String, logicalTime: Date)
    }

    private var tasks: [TaskManifest.Task]
    private let clock: any ScheduleClock
    private let claims: any RunClaims
    private let launch: Launch
    private let report: Report
    private let name: String
    private let lease: Duration
    private var next: [String: Date] = [:]
    private var running: [String: [UUID: Task<Void, Never>]] = [:]
    private var wake: CheckedContinuation<Void, Never>?
    private var sleeper: Task<Void, any Error>?
    private var starting = true
    private var pendingReload: [TaskManifest.Task]?

    public init(tasks: [TaskManifest.Task], clock: any ScheduleClock = SystemScheduleClock(), claims: any RunClaims = InMemoryRunClaims(),
                name: String, lease: Duration = .seconds(30), launch: @escaping Launch, report: @escaping Report = { _ in }) {
        self.tasks = tasks
        self.lease = lease
        self.clock = clock
        self.claims = claims
        self.name = name
        self.launch = launch
        self.report = report
    }

    /// The key that makes a rerun of the same scheduled run recognisable: `task@2026-12-02T09:00:00Z`.
    public static func idempotencyKey(task: String, logicalTime: Date) -> String {
        "\(task)@\(Timestamp.format(logicalTime, fractional: false))"
    }

    /// How long `task` waits after each of its times: the same every run, spread across tasks by name.
    public static func jitter(for task: TaskManifest.Task) -> Duration {
        guard let jitter = task.jitter, jitter > .zero else { return .zero }
        var hash: UInt64 = 0xCBF2_9CE4_8422_2325  // FNV-1a
        for byte in task.name.utf8 { hash = (hash ^ UInt64(byte)) &* 0x100_0000_01B3 }
        let milliseconds = min(jitter.components.seconds, 86400) * 1000 + jitter.components.attoseconds / 1_000_000_000_000_000
        return .milliseconds(Int64(hash % UInt64(max(1, milliseconds + 1))))
    }

    /// Runs until cancelled; then waits up to `drain` for running tasks (cancelling them after it).
    public func run(drain: Duration = .seconds(10)) async {
        let start = clock.now()
        for task in tasks { await schedule(task, after: start, catchingUp: true) }
        starting = false
        if let pending = pendingReload {
            pendingReload = nil
            await reload(pending)
        }
        while !Task.isCancelled {
            guard let (task, due) = earliest() else {
                await waitForever()
                continue
            }
            let fireAt = due.addingTimeInterval(Self.jitter(for: task).seconds)
            // A sleep of its own, so a reload can cut it short and the loop look again.
            let clock = self.clock
            let sleep = Task { try await clock.sleep(until: fireAt) }
            sleeper = sleep
            do {
                try await withTaskCancellationHandler { try await sleep.value } onCancel: { sleep.cancel() }
            } catch {
                if Task.isCancelled { break }
                continue  // reloaded
            }
            await fire(task, due: due)
        }
        // The drain must wait although this task is cancelled: it runs in a task of its own.
        await Task { await self.stop(drain: drain) }.value
    }

    /// Replaces the tasks (SIGHUP): runs in progress go on; a task whose schedule, zone and jitter are
    /// unchanged keeps its next run (one waiting out its jitter is not lost); others count from now.
    public func reload(_ tasks: [TaskManifest.Task]) async {
        guard !starting else {
            pendingReload = tasks  // applied once the start-up scheduling (which awaits the claims) is done
            return
        }
        let before = Dictionary(self.tasks.map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first })
        let kept = next
        self.tasks = tasks
        next = [:]
        let now = clock.now()
        for task in tasks {
            if let old = before[task.name], old.scheduleText == task.scheduleText, old.timeZone == task.timeZone, old.jitter == task.jitter,
               let pending = kept[task.name] {
                next[task.name] = pending
            } else {
                await schedule(task, after: now, catchingUp: false)
            }
        }
        sleeper?.cancel()
        wake?.resume()
        wake = nil
    }

    /// The runs in progress, by task.
    public var runningCounts: [String: Int] { running.mapValues(\.count).filter { $0.value > 0 } }

    /// The task to fire next: the earliest due time plus that task's own jitter.
    private func earliest() -> (TaskManifest.Task, Date)? {
        tasks.compactMap { task in next[task.name].map { (task, $0) } }
            .min { $0.1.addingTimeInterval(Self.jitter(for: $0.0).seconds) < $1.1.addingTimeInterval(Self.jitter(for: $1.0).seconds) }
    }

    private func waitForever() async {
        await withTaskCancellationHandler {
            await withCheckedContinuation { self.wake = $0 }
        } onCancel: {
            Task { await self.cancelWait() }
        }
    }

    private func cancelWait() {
        wake?.resume()
        wake = nil
    }

    /// The next time of `task` after `instant`; at start, a run missed while no scheduler ran is caught
    /// up once when the claims remember the last one and it is within the starting deadline.
    private func schedule(_ task: TaskManifest.Task, after instant: Date, catchingUp: Bool) async {
        var last: Date?
        if catchingUp, task.startingDeadline != nil {
            do {
                last = try await claims.lastClaimed(task: task.name)
            } catch {
                report(.claimFailed(task: task.name, logicalTime: instant, error: "cannot read the last run to catch up: \(error)"))
            }
        }
        if let deadline = task.startingDeadline, let last {
            var missed: Date?
            var count = 0
            // Only runs that could still start matter: walk from the deadline's start, not from long ago.
            var cursor = max(last, instant.addingTimeInterval(-deadline.seconds - 1))
            while let time = task.schedule.next(after: cursor, in: task.timeZone), time <= instant {
                missed = time
                count += 1
                cursor = time
                if count > 100_000 { break }
            }
            if let missed, instant.timeIntervalSince(missed) <= deadline.seconds {
                if count > 1 { report(.missed(task: task.name, logicalTime: missed, count: count - 1)) }
                next[task.name] = missed
                return
            }
            if count > 0 || cursor > last { report(.missed(task: task.name, logicalTime: missed ?? last, count: max(count, 1))) }
        }
        next[task.name] = task.schedule.next(after: instant, in: task.timeZone)
    }

    private func fire(_ task: TaskManifest.Task, due: Date) async {
        let now = clock.now()
        // Runs due since `due` (the clock jumped, or the host slept): only the latest may run.
        var logicalTime = due
        var skipped = 0
        let jitter = Self.jitter(for: task).seconds
        while let later = task.schedule.next(after: logicalTime, in: task.timeZone), later.addingTimeInterval(jitter) <= now {
            logicalTime = later
            skipped += 1
        }
        next[task.name] = task.schedule.next(after: logicalTime, in: task.timeZone)
        if let deadline = task.startingDeadline, now.timeIntervalSince(logicalTime) - jitter > deadline.seconds {
            report(.missed(task: task.name, logicalTime: logicalTime, count: skipped + 1))
            return
        }
        if skipped > 0 { report(.missed(task: task.name, logicalTime: logicalTime, count: skipped)) }
        let inFlight = running[task.name] ?? [:]
        if !inFlight.isEmpty, task.concurrency == .forbid {
            report(.skippedRunning(task: task.name, logicalTime: logicalTime))
            return
        }
        do {
            guard try await claims.claim(task: task.name, logicalTime: logicalTime, scheduler: name) else {
                report(.claimedElsewhere(task: task.name, logicalTime: logicalTime))
                return
            }
        } catch {
            report(.claimFailed(task: task.name, logicalTime: logicalTime, error: "\(error)"))
            return
        }
        let id = UUID()
        var holder: String?
        if task.concurrency == .forbid {
            let candidate = "\(name)/\(id.uuidString.lowercased())"
            do {
                let now = clock.now()
                guard try await claims.lease(task: task.name, holder: candidate, until: now.addingTimeInterval(lease.seconds), now: now) else {
                    report(.runningElsewhere(task: task.name, logicalTime: logicalTime))
                    return
                }
            } catch {
                report(.claimFailed(task: task.name, logicalTime: logicalTime, error: "cannot take the task's lease: \(error)"))
                return
            }
            holder = candidate
        }
        if !inFlight.isEmpty, task.concurrency == .replace {
            for (_, run) in inFlight { run.cancel() }
            report(.replaced(task: task.name, logicalTime: logicalTime))
        }
        let key = Self.idempotencyKey(task: task.name, logicalTime: logicalTime)
        let launch = self.launch
        let claims = self.claims
        report(.fired(task: task.name, logicalTime: logicalTime))
        running[task.name, default: [:]][id] = Task {
            let keeper = holder.map { holder in Task { await self.keepLease(task.name, holder: holder, logicalTime: logicalTime) } }
            await launch(task, logicalTime, key)
            keeper?.cancel()
            await keeper?.value  // no renewal may land after the release
            if let holder {
                // In a task of its own: a stopping scheduler's cancelled run still gives its lease up.
                await Task { try? await claims.release(task: task.name, holder: holder) }.value
            }
            await self.finished(task.name, id)
        }
    }

    /// Renews a running run's lease every third of its length until cancelled. A failed renewal is
    /// tried again at the next one (the lease outlives two); a lease another scheduler took is reported.
    private nonisolated func keepLease(_ task: String, holder: String, logicalTime: Date) async {
        while true {
            do {
                try await clock.sleep(until: clock.now().addingTimeInterval(lease.seconds / 3))
            } catch {
                return
            }
            let now = clock.now()
            do {
                guard try await claims.lease(task: task, holder: holder, until: now.addingTimeInterval(lease.seconds), now: now) else {
                    report(.leaseLost(task: task, logicalTime: logicalTime))
                    return
                }
            } catch {
                if Task.isCancelled { return }
            }
        }
    }

    private func finished(_ task: String, _ id: UUID) {
        running[task]?[id] = nil
    }

    /// Waits for running tasks up to `drain`, then cancels them and waits for them to end.
    private func stop(drain: Duration) async {
        let deadline = ContinuousClock.now.advanced(by: drain)
        while running.values.contains(where: { !$0.isEmpty }), ContinuousClock.now < deadline {
            try? await Task.sleep(for: .milliseconds(20))
        }
        let left = running.values.flatMap { $0.values }
        for run in left { run.cancel() }
        // A handler that ignores cancellation must not keep the process alive: give up after 5 s more.
        let giveUp = ContinuousClock.now.advanced(by: .seconds(5))
        while running.values.contains(where: { !$0.isEmpty }), ContinuousClock.now < giveUp {
            try? await Task.sleep(for: .milliseconds(20))
        }
    }

}
