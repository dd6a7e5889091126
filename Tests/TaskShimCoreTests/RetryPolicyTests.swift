import Foundation
import Testing
@testable import TaskShimCore

final class Counter: @unchecked Sendable {
    private let lock = NSLock()
    private var value = 0
    func next() -> Int { lock.withLock { value += 1; return value } }
    var count: Int { lock.withLock { value } }
}

struct RetryPolicyTests {
    @Test func retriesStopAtMaxAttempts() async {
        let policy = RetryPolicy(maxAttempts: 3, baseDelay: .milliseconds(1))
        let calls = Counter()
        await #expect(throws: TaskShimError.self) {
            try await policy.run(shouldRetry: { _ in true }) { _ in
                _ = calls.next()
                throw TaskShimError.temporary("down")
            }
        }
        #expect(calls.count == 3)
    }

    @Test func succeedsOnceTheDependencyComesBack() async throws {
        let policy = RetryPolicy(maxAttempts: 5, baseDelay: .milliseconds(1))
        let calls = Counter()
        let result = try await policy.run(shouldRetry: { _ in true }) { attempt in
            if calls.next() < 3 { throw TaskShimError.temporary("down") }
            return attempt
        }
        #expect(result == 3)
    }

    @Test func permanentErrorsAreNotRetried() async {
        let policy = RetryPolicy(maxAttempts: 5, baseDelay: .milliseconds(1))
        let calls = Counter()
        await #expect(throws: TaskShimError.self) {
            try await policy.run(shouldRetry: { ($0 as? TaskShimError)?.isRetryable ?? false }) { _ in
                _ = calls.next()
                throw TaskShimError(.unavailable, "400")
            }
        }
        #expect(calls.count == 1)
    }

    @Test func noRetryWhenTheWaitWouldPassTheDeadline() async {
        let policy = RetryPolicy(maxAttempts: 5, baseDelay: .seconds(10), maxDelay: .seconds(10))
        let calls = Counter()
        let start = Date()
        // Full jitter can pick a tiny wait; a deadline already passed rules out every retry.
        await #expect(throws: TaskShimError.self) {
            try await policy.run(deadline: Date().addingTimeInterval(-1), shouldRetry: { _ in true }) { _ in
                _ = calls.next()
                throw TaskShimError.temporary("down")
            }
        }
        #expect(calls.count == 1)
        #expect(Date().timeIntervalSince(start) < 1)
    }

    @Test func delaysGrowExponentiallyUpToTheCapWithFullJitter() {
        let policy = RetryPolicy(maxAttempts: 10, baseDelay: .milliseconds(100), maxDelay: .seconds(1))
        #expect(policy.delayCap(after: 1) == .milliseconds(100))
        #expect(policy.delayCap(after: 2) == .milliseconds(200))
        #expect(policy.delayCap(after: 4) == .milliseconds(800))
        #expect(policy.delayCap(after: 5) == .seconds(1))
        #expect(policy.delayCap(after: 60) == .seconds(1))
        var generator = SystemRandomNumberGenerator()
        var seenSmall = false, seenLarge = false
        for _ in 0..<500 {
            let delay = policy.delay(after: 4, using: &generator)
            #expect(delay >= .zero && delay <= .milliseconds(800))
            if delay < .milliseconds(200) { seenSmall = true }
            if delay > .milliseconds(600) { seenLarge = true }
        }
        #expect(seenSmall && seenLarge)
    }
}
