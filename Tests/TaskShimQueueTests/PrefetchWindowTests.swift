import Testing
@testable import TaskShimQueue

struct PrefetchWindowTests {
    @Test func shortJobsWidenTheWindowAndLongOnesKeepItAtTheConcurrency() {
        var window = PrefetchWindow(concurrency: 4, fixed: nil)
        #expect(window.size == 4, "nothing measured yet")
        window.claimTook(.microseconds(500))
        window.jobsTook(0.000_020)  // 20 µs jobs: 4 slots eat 2 round trips' worth of 200 jobs
        #expect(window.size == 200)
        for _ in 0..<30 { window.jobsTook(0.000_000_1) }  // a moving average: it takes a few claims
        #expect(window.size == 1000, "capped")
        var slow = PrefetchWindow(concurrency: 4, fixed: nil)
        slow.claimTook(.milliseconds(1))
        slow.jobsTook(2.0)
        #expect(slow.size == 4)
    }

    @Test func aFixedPrefetchIsKept() {
        var window = PrefetchWindow(concurrency: 4, fixed: 0)
        window.claimTook(.microseconds(500))
        window.jobsTook(0.000_020)
        #expect(window.size == 0)
    }

    @Test func aSlowClaimAfterAnOutageDoesNotBalloonTheWindow() {
        var window = PrefetchWindow(concurrency: 4, fixed: nil)
        window.claimTook(.milliseconds(1))
        window.jobsTook(0.005)
        let steady = window.size
        window.claimTook(.seconds(2))  // the first claim after the database came back
        #expect(window.size <= steady * 2, "\(steady) -> \(window.size)")
    }
}
