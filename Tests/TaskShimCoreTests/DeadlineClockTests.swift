import Foundation
import Testing
@testable import TaskShimCore

struct DeadlineClockTests {
    @Test func aWaitEndsAtItsDeadline() async {
        let clock = DeadlineClock()
        let start = Date()
        #expect(await clock.wait(until: start.addingTimeInterval(0.05)))
        let elapsed = Date().timeIntervalSince(start)
        // Ends, and not before: the upper bound is wide because the suite's start loads both cores for seconds.
        #expect(elapsed >= 0.045 && elapsed < 15)
    }

    @Test func aPassedDeadlineEndsTheWaitAtOnce() async {
        #expect(await DeadlineClock().wait(until: Date().addingTimeInterval(-1)))
    }

    @Test func cancellingTheTaskEndsTheWaitEarly() async throws {
        let clock = DeadlineClock()
        let start = Date()
        let task = Task { await clock.wait(until: Date().addingTimeInterval(30)) }
        try await Task.sleep(for: .milliseconds(50))
        task.cancel()
        #expect(await task.value == false)
        #expect(Date().timeIntervalSince(start) < 15, "well before the 30 s deadline, even on a loaded machine")
    }

    @Test func endingATicketEndsItsWaitEarlyOrBeforeItBegins() async throws {
        let clock = DeadlineClock()
        let early = clock.makeTicket()
        clock.end(early)
        #expect(await clock.wait(early, until: Date().addingTimeInterval(30)) == false)
        let ticket = clock.makeTicket()
        let start = Date()
        let waiting = Task { await clock.wait(ticket, until: Date().addingTimeInterval(30)) }
        try await Task.sleep(for: .milliseconds(50))
        clock.end(ticket)
        #expect(await waiting.value == false)
        #expect(Date().timeIntervalSince(start) < 15)
        clock.end(ticket)  // over: nothing to do, nothing kept
    }

    @Test func aWaitCancelledBeforeItStartsEndsAtOnce() async {
        let clock = DeadlineClock()
        let task = Task {
            withUnsafeCurrentTask { $0?.cancel() }
            return await clock.wait(until: Date().addingTimeInterval(30))
        }
        #expect(await task.value == false)
    }

    /// The thread sleeps until the earliest deadline it knows; an earlier one must wake it.
    @Test func anEarlierDeadlineWakesTheSleepingThread() async throws {
        let clock = DeadlineClock()
        let late = Task { await clock.wait(until: Date().addingTimeInterval(30)) }
        try await Task.sleep(for: .milliseconds(50))
        let start = Date()
        #expect(await clock.wait(until: start.addingTimeInterval(0.05)))
        #expect(Date().timeIntervalSince(start) < 15, "well before the 30 s deadline, even on a loaded machine")
        late.cancel()
        #expect(await late.value == false)
    }

    @Test func manyWaitsEachEndAtTheirOwnDeadline() async {
        let clock = DeadlineClock()
        let start = Date()
        let ends = await withTaskGroup(of: (Double, Double).self) { group in
            for offset in [0.2, 0.05, 0.15, 0.1] {
                group.addTask {
                    _ = await clock.wait(until: start.addingTimeInterval(offset))
                    return (offset, Date().timeIntervalSince(start))
                }
            }
            return await group.reduce(into: []) { $0.append($1) }
        }
        for (offset, elapsed) in ends {
            #expect(elapsed >= offset - 0.005, "ended at \(elapsed) s, before its deadline at \(offset) s")
        }
    }
}
