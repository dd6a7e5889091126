import Foundation
import Testing
@testable import TaskShimQueue

struct JobBufferTests {
    func job(_ id: Int64) -> Job { Job(id: id, queue: "q", type: "echo", payload: Data("{}".utf8), attempt: 1, maxAttempts: 1, retryDelaySeconds: 0) }

    @Test func jobsAreTakenInOrderAndAWaitingSlotGetsTheNextOne() async throws {
        let buffer = JobBuffer()
        buffer.put([job(1), job(2)])
        #expect(await buffer.take()?.id == 1)
        #expect(await buffer.take()?.id == 2)
        let waiting = Task { await buffer.take()?.id }
        try await Task.sleep(for: .milliseconds(50))
        buffer.put([job(3), job(4)])
        #expect(await waiting.value == 3)
        #expect(buffer.count == 1)
    }

    @Test func closingReturnsTheJobsNeverStartedAndEndsTheSlots() async throws {
        let buffer = JobBuffer()
        let slot = Task { await buffer.take() }
        try await Task.sleep(for: .milliseconds(50))
        #expect(buffer.close().isEmpty)
        #expect(await slot.value == nil)
        let other = JobBuffer()
        other.put([job(1), job(2), job(3)])
        _ = await other.take()
        #expect(other.close().map(\.id) == [2, 3], "to release")
        #expect(await other.take() == nil)
    }

    @Test func finishingLetsTheSlotsRunWhatIsBufferedFirst() async {
        let buffer = JobBuffer()
        buffer.put([job(1), job(2)])
        buffer.finish()
        #expect(await buffer.take()?.id == 1)
        #expect(await buffer.take()?.id == 2)
        #expect(await buffer.take() == nil)
    }

    @Test func aCancelledSlotStopsWaiting() async throws {
        let buffer = JobBuffer()
        let slot = Task { await buffer.take() }
        try await Task.sleep(for: .milliseconds(50))
        slot.cancel()
        #expect(await slot.value == nil)
        buffer.put([job(1)])
        #expect(buffer.count == 1, "the cancelled slot took nothing")
    }

    @Test func theClaimLoopIsWokenWhenTheBufferRunsLow() async throws {
        let buffer = JobBuffer()
        buffer.put((1...6).map(job))
        let woken = Task {
            await buffer.waitUntilLow(atMost: 2)
            return buffer.count
        }
        try await Task.sleep(for: .milliseconds(50))
        for _ in 0..<3 { _ = await buffer.take() }
        try await Task.sleep(for: .milliseconds(20))
        _ = await buffer.take()
        #expect(await woken.value <= 2)
    }
}
