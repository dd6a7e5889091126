import Foundation
import Synchronization
import Testing
@testable import TaskShimSchedule
import TaskShimCore

/// A clock the test moves: sleepers wake when it passes their time.
final class ManualClock: ScheduleClock, @unchecked Sendable {
    private let lock = NSLock()
    private var current: Date
    private var sleepers: [(Date, UUID, CheckedContinuation<Void, any Error>)] = []

    init(_ start: Date) { current = start }

    func now() -> Date { lock.withLock { current } }

    func sleep(until date: Date) async throws {
        let id = UUID()
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
                // Cancelled before the sleeper is registered: onCancel found nothing to wake, so say so here.
                let state: Int = lock.withLock {
                    if Task.isCancelled { return 2 }
                    if date <= current { return 1 }
                    sleepers.append((date, id, continuation))
                    return 0
                }
                if state == 1 { continuation.resume() }
                if state == 2 { continuation.resume(throwing: CancellationError()) }
            }
        } onCancel: {
            let continuation: CheckedContinuation<Void, any Error>? = lock.withLock {
                guard let index = sleepers.firstIndex(where: { $0.1 == id }) else { return nil }
                return sleepers.remove(at: index).2
            }
            continuation?.resume(throwing: CancellationError())
        }
    }

    /// Moves the clock and wakes whoever slept until then.
    func advance(to date: Date) {
        let due: [CheckedContinuation<Void, any Error>] = lock.withLock {
            current = date
            let woken = sleepers.filter { $0.0 <= date }
            sleepers.removeAll { $0.0 <= date }
            return woken.map(\.2)
        }
        for continuation in due { continuation.resume() }
    }

    var sleeping: Int { lock.withLock { sleepers.count } }
}

/// What the scheduler launched and reported.
final class Recorder: @unchecked Sendable {
    private let lock = NSLock()
    private var launches: [(String, Date, String)] = []
    private var events: [Scheduler.Event] = []
    private var cancelled = 0

    func launched(_ task: String, _ time: Date, _ key: String) { lock.withLock { launches.append((task, time, key)) } }
    func event(_ event: Scheduler.Event) { lock.withLock { events.append(event) } }
    func wasCancelled() { lock.withLock { cancelled += 1 } }
    var times: [Date] { lock.withLock { launches.map(\.1) } }
    var keys: [String] { lock.withLock { launches.map(\.2) } }
    var allEvents: [Scheduler.Event] { lock.withLock { events } }
    var cancellations: Int { lock.withLock { cancelled } }
}

struct SchedulerTests {
    let t0 = Date(timeIntervalSince1970: 1_796_212_800)  // 2026-12-02T12:00:00Z

    func task(_ name: String, _ schedule: String, concurrency: TaskManifest.ConcurrencyPolicy = .allow, deadline: Duration? = nil,
              jitter: Duration? = nil) throws -> TaskManifest.Task {
        TaskManifest.Task(name: name, handler: "echo", schedule: try Schedule(parsing: schedule), scheduleText: schedule, timeZone: .utc, timeout: nil,
                          retries: 0, concurrency: concurrency, startingDeadline: deadline, jitter: jitter, secrets: [], audit: [], environment: [:],
                          memoryMiB: nil, platforms: [], line: 1)
    }

    /// Waits (in real time) until `condition` holds, up to 5 s.
    func eventually(_ condition: () -> Bool) async throws {
        for _ in 0..<500 where !condition() { try await Task.sleep(for: .milliseconds(10)) }
    }

    /// Moves the clock in steps, letting the scheduler run between them.
    func step(_ clock: ManualClock, to seconds: Int, then condition: () -> Bool) async throws {
        try await eventually { clock.sleeping > 0 }
        clock.advance(to: t0.addingTimeInterval(Double(seconds)))
        try await eventually(condition)
    }

    @Test func eachRunFiresOnceWithItsScheduledTimeAndKey() async throws {
        let clock = ManualClock(t0), record = Recorder()
        let scheduler = Scheduler(tasks: [try task("tick", "*/10 * * * * *")], clock: clock, name: "a",
                                  launch: { task, time, key in record.launched(task.name, time, key) })
        let running = Task { await scheduler.run(drain: .seconds(1)) }
        try await step(clock, to: 10) { record.times.count == 1 }
        try await step(clock, to: 23) { record.times.count == 2 }  // late: still the 20 s run, once
        try await step(clock, to: 30) { record.times.count == 3 }
        running.cancel()
        await running.value
        #expect(record.times == [10, 20, 30].map { t0.addingTimeInterval($0) })
        #expect(record.keys == ["tick@2026-12-02T12:00:10Z", "tick@2026-12-02T12:00:20Z", "tick@2026-12-02T12:00:30Z"])
    }

    @Test func forbidSkipsARunWhileTheLastOneRunsAndAllowDoesNot() async throws {
        for policy in [TaskManifest.ConcurrencyPolicy.forbid, .allow] {
            let clock = ManualClock(t0), record = Recorder()
            let release = Mutex(false)
            let scheduler = Scheduler(tasks: [try task("slow", "*/10 * * * * *", concurrency: policy)], clock: clock, name: "a", launch: { task, time, key in
                record.launched(task.name, time, key)
                while !release.withLock({ $0 }) { try? await Task.sleep(for: .milliseconds(5)) }
            }, report: { record.event($0) })
            let running = Task { await scheduler.run(drain: .seconds(5)) }
            try await step(clock, to: 10) { record.times.count == 1 }
            try await step(clock, to: 20) { record.times.count == 2 || record.allEvents.contains(.skippedRunning(task: "slow", logicalTime: t0.addingTimeInterval(20))) }
            release.withLock { $0 = true }
            running.cancel()
            await running.value
            #expect(record.times.count == (policy == .forbid ? 1 : 2), "\(policy)")
        }
    }

    @Test func replaceCancelsTheRunningRunForTheNewOne() async throws {
        let clock = ManualClock(t0), record = Recorder()
        let scheduler = Scheduler(tasks: [try task("slow", "*/10 * * * * *", concurrency: .replace)], clock: clock, name: "a", launch: { task, time, key in
            record.launched(task.name, time, key)
            while !Task.isCancelled { try? await Task.sleep(for: .milliseconds(5)) }
            record.wasCancelled()
        }, report: { record.event($0) })
        let running = Task { await scheduler.run(drain: .milliseconds(100)) }
        try await step(clock, to: 10) { record.times.count == 1 }
        try await step(clock, to: 20) { record.times.count == 2 && record.cancellations == 1 }
        #expect(record.allEvents.contains(.replaced(task: "slow", logicalTime: t0.addingTimeInterval(20))))
        running.cancel()
        await running.value
        #expect(record.cancellations == 2, "the last one cancelled at stop, after the drain")
    }

    @Test func aJumpRunsOnlyTheLatestRunWithinTheStartingDeadline() async throws {
        let clock = ManualClock(t0), record = Recorder()
        let scheduler = Scheduler(tasks: [try task("tick", "*/10 * * * * *", deadline: .seconds(5))], clock: clock, name: "a",
                                  launch: { task, time, key in record.launched(task.name, time, key) }, report: { record.event($0) })
        let running = Task { await scheduler.run(drain: .seconds(1)) }
        // The host slept from 0 s to 62 s: the 60 s run is 2 s late (within 5 s), 10-50 s are missed.
        try await step(clock, to: 62) { record.times.count == 1 }
        // Woken 8 s after 70 s: past the deadline, skipped.
        try await step(clock, to: 78) { record.allEvents.contains(.missed(task: "tick", logicalTime: t0.addingTimeInterval(70), count: 1)) }
        running.cancel()
        await running.value
        #expect(record.times == [t0.addingTimeInterval(60)])
        #expect(record.allEvents.contains(.missed(task: "tick", logicalTime: t0.addingTimeInterval(60), count: 5)))
    }

    @Test func aRestartCatchesUpTheLastMissedRunWithinTheDeadline() async throws {
        let claims = InMemoryRunClaims()
        _ = await claims.claim(task: "tick", logicalTime: t0, scheduler: "before")
        let clock = ManualClock(t0.addingTimeInterval(25)), record = Recorder()
        let scheduler = Scheduler(tasks: [try task("tick", "*/10 * * * * *", deadline: .seconds(60))], clock: clock, claims: claims, name: "after",
                                  launch: { task, time, key in record.launched(task.name, time, key) }, report: { record.event($0) })
        let running = Task { await scheduler.run(drain: .seconds(1)) }
        try await eventually { record.times.count == 1 }
        try await step(clock, to: 30) { record.times.count == 2 }
        running.cancel()
        await running.value
        // 10 s and 20 s were missed while stopped: the later one runs at once, then the schedule goes on.
        #expect(record.times == [t0.addingTimeInterval(20), t0.addingTimeInterval(30)])
        #expect(record.allEvents.contains(.missed(task: "tick", logicalTime: t0.addingTimeInterval(20), count: 1)))
    }

    @Test func twoSchedulersSharingClaimsFireEachRunOnce() async throws {
        let claims = InMemoryRunClaims(), clock = ManualClock(t0), record = Recorder()
        let schedulers = try ["a", "b"].map { name in
            Scheduler(tasks: [try task("tick", "*/10 * * * * *")], clock: clock, claims: claims, name: name,
                      launch: { task, time, key in record.launched(task.name, time, key) })
        }
        let running = schedulers.map { scheduler in Task { await scheduler.run(drain: .seconds(1)) } }
        for second in [10, 20, 30] {
            try await eventually { clock.sleeping >= 2 }
            clock.advance(to: t0.addingTimeInterval(Double(second)))
            try await eventually { record.times.count == second / 10 }
        }
        try await Task.sleep(for: .milliseconds(100))
        for task in running { task.cancel() }
        for task in running { await task.value }
        #expect(record.times == [10, 20, 30].map { t0.addingTimeInterval($0) })
    }

    @Test func forbidHoldsAcrossSchedulersWhileTheRunRenewsItsLease() async throws {
        let claims = InMemoryRunClaims(), clock = ManualClock(t0), record = Recorder()
        let release = Mutex(false)
        // A 30 s lease and a run of 60 s: only its renewals keep the other scheduler out past 40 s.
        let schedulers = try ["a", "b"].map { name in
            Scheduler(tasks: [try task("slow", "*/10 * * * * *", concurrency: .forbid)], clock: clock, claims: claims, name: name, lease: .seconds(30),
                      launch: { task, time, key in
                          record.launched(task.name, time, key)
                          while !release.withLock({ $0 }) { try? await Task.sleep(for: .milliseconds(5)) }
                      }, report: { record.event($0) })
        }
        let running = schedulers.map { scheduler in Task { await scheduler.run(drain: .seconds(5)) } }
        for second in stride(from: 10, through: 70, by: 10) {
            // Both schedulers and the run's lease keeper asleep (from 10 s on).
            try await eventually { clock.sleeping >= (second == 10 ? 2 : 3) }
            clock.advance(to: t0.addingTimeInterval(Double(second)))
            // Both schedulers decided about this run (fired, found it claimed, skipped it).
            let time = t0.addingTimeInterval(Double(second))
            try await eventually { record.allEvents.filter { Self.logicalTime($0) == time }.count >= 2 }
        }
        #expect(record.times == [t0.addingTimeInterval(10)])
        let elsewhere = record.allEvents.filter { if case .runningElsewhere = $0 { true } else { false } }
        #expect(!elsewhere.isEmpty, "the other scheduler found the lease taken: \(record.allEvents)")
        #expect(!record.allEvents.contains { if case .leaseLost = $0 { true } else { false } })
        // Once the run ends its lease is given up: the next run starts, on either scheduler.
        release.withLock { $0 = true }
        try await eventually { clock.sleeping == 2 }
        try await Task.sleep(for: .milliseconds(50))
        release.withLock { $0 = false }
        clock.advance(to: t0.addingTimeInterval(80))
        try await eventually { record.times.count == 2 }
        release.withLock { $0 = true }
        for task in running { task.cancel() }
        for task in running { await task.value }
        #expect(record.times == [t0.addingTimeInterval(10), t0.addingTimeInterval(80)])
    }

    @Test func aRunWhoseLeaseWasTakenAfterItLapsedSaysSo() async throws {
        let claims = InMemoryRunClaims(), clock = ManualClock(t0), record = Recorder()
        let release = Mutex(false)
        let scheduler = Scheduler(tasks: [try task("slow", "*/10 * * * * *", concurrency: .forbid)], clock: clock, claims: claims, name: "a",
                                  lease: .seconds(30), launch: { task, time, key in
                                      record.launched(task.name, time, key)
                                      while !release.withLock({ $0 }) { try? await Task.sleep(for: .milliseconds(5)) }
                                  }, report: { record.event($0) })
        let running = Task { await scheduler.run(drain: .seconds(5)) }
        try await step(clock, to: 10) { record.times.count == 1 }
        // The host stalls past the lease (40 s) before the first renewal; another scheduler takes it at 45 s.
        try await eventually { clock.sleeping == 2 }
        #expect(await claims.lease(task: "slow", holder: "b/1", until: t0.addingTimeInterval(100), now: t0.addingTimeInterval(45)))
        clock.advance(to: t0.addingTimeInterval(45))
        try await eventually { record.allEvents.contains(.leaseLost(task: "slow", logicalTime: t0.addingTimeInterval(10))) }
        #expect(record.allEvents.contains(.leaseLost(task: "slow", logicalTime: t0.addingTimeInterval(10))))
        release.withLock { $0 = true }
        running.cancel()
        await running.value
        // Its release does not free the lease it no longer holds.
        #expect(await !claims.lease(task: "slow", holder: "c/1", until: t0.addingTimeInterval(100), now: t0.addingTimeInterval(50)))
    }

    static func logicalTime(_ event: Scheduler.Event) -> Date {
        switch event {
        case .fired(_, let time), .skippedRunning(_, let time), .replaced(_, let time), .claimedElsewhere(_, let time), .missed(_, let time, _),
             .claimFailed(_, let time, _), .runningElsewhere(_, let time), .leaseLost(_, let time): time
        }
    }

    @Test func theLeaseOfASchedulerThatDiedLapsesAndTheTaskRunsAgain() async throws {
        let claims = InMemoryRunClaims(), clock = ManualClock(t0), record = Recorder()
        // A scheduler killed mid-run: its lease was renewed last at 0 s, for 15 s.
        #expect(await claims.lease(task: "slow", holder: "dead/1", until: t0.addingTimeInterval(15), now: t0))
        let scheduler = Scheduler(tasks: [try task("slow", "*/10 * * * * *", concurrency: .forbid)], clock: clock, claims: claims, name: "b",
                                  lease: .seconds(15), launch: { task, time, key in record.launched(task.name, time, key) }, report: { record.event($0) })
        let running = Task { await scheduler.run(drain: .seconds(1)) }
        try await step(clock, to: 10) { record.allEvents.contains(.runningElsewhere(task: "slow", logicalTime: t0.addingTimeInterval(10))) }
        try await step(clock, to: 20) { record.times.count == 1 }
        running.cancel()
        await running.value
        #expect(record.times == [t0.addingTimeInterval(20)])
        // The finished run gave its lease up: anyone may take it now.
        #expect(await claims.lease(task: "slow", holder: "c/1", until: t0.addingTimeInterval(60), now: t0.addingTimeInterval(21)))
    }

    @Test func jitterIsTheSameForATaskAndWithinItsBound() throws {
        let a = try task("alpha", "* * * * *", jitter: .seconds(30)), b = try task("beta", "* * * * *", jitter: .seconds(30))
        #expect(Scheduler.jitter(for: a) != Scheduler.jitter(for: b))
        // Spread across names: 100 tasks take many different delays, all within the bound.
        let delays = try Set((0..<100).map { Scheduler.jitter(for: try task("t\($0)", "* * * * *", jitter: .seconds(30))) })
        #expect(delays.count > 90 && delays.allSatisfy { $0 <= .seconds(30) })
        for task in [a, b] { #expect(Scheduler.jitter(for: task) <= .seconds(30) && Scheduler.jitter(for: task) >= .zero) }
        #expect(Scheduler.jitter(for: try self.task("none", "* * * * *")) == .zero)
    }

    @Test func aTasksJitterDelaysOnlyThatTask() async throws {
        let clock = ManualClock(t0), record = Recorder()
        // A is due at 10 s but waits its jitter; B is due at 20 s and must not wait for A.
        let a = try task("a", "10 * * * * *", jitter: .seconds(50)), b = try task("b", "20 * * * * *")
        let scheduler = Scheduler(tasks: [a, b], clock: clock, name: "s", launch: { task, time, key in record.launched(task.name, time, key) })
        let running = Task { await scheduler.run(drain: .seconds(1)) }
        try await step(clock, to: 20) { record.keys.contains("b@2026-12-02T12:00:20Z") }
        let fireA = 10 + Scheduler.jitter(for: a).seconds
        if fireA > 20 { #expect(!record.keys.contains { $0.hasPrefix("a@") }, "a waits its own jitter") }
        try await step(clock, to: Int(fireA.rounded(.up)) + 1) { record.keys.contains("a@2026-12-02T12:00:10Z") }
        running.cancel()
        await running.value
        #expect(record.times.contains(t0.addingTimeInterval(10)), "a keeps its scheduled time as its logical time")
    }

    @Test func aReloadAddsAndRemovesTasksAndKeepsUnchangedOnes() async throws {
        let clock = ManualClock(t0), record = Recorder()
        let scheduler = Scheduler(tasks: [try task("old", "*/10 * * * * *"), try task("kept", "*/10 * * * * *")], clock: clock, name: "s",
                                  launch: { task, time, key in record.launched(task.name, time, key) })
        let running = Task { await scheduler.run(drain: .seconds(1)) }
        try await step(clock, to: 10) { record.keys.count == 2 }
        try await eventually { clock.sleeping > 0 }
        await scheduler.reload([try task("kept", "*/10 * * * * *"), try task("new", "*/10 * * * * *")])
        try await step(clock, to: 20) { record.keys.count == 4 }
        running.cancel()
        await running.value
        #expect(Set(record.keys.suffix(2)) == ["kept@2026-12-02T12:00:20Z", "new@2026-12-02T12:00:20Z"], "\(record.keys)")
    }

    @Test func stoppingWaitsForRunningTasksWithinTheDrain() async throws {
        let clock = ManualClock(t0), record = Recorder()
        let scheduler = Scheduler(tasks: [try task("work", "*/10 * * * * *")], clock: clock, name: "a", launch: { task, time, key in
            record.launched(task.name, time, key)
            try? await Task.sleep(for: .milliseconds(300))  // finishes within the drain
            if !Task.isCancelled { record.event(.fired(task: "done", logicalTime: time)) }
        })
        let running = Task { await scheduler.run(drain: .seconds(3)) }
        try await step(clock, to: 10) { record.times.count == 1 }
        running.cancel()
        await running.value
        #expect(record.allEvents == [.fired(task: "done", logicalTime: t0.addingTimeInterval(10))], "the run finished, not cancelled")
    }
}
