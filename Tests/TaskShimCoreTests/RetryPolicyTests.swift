import Foundation
import Synchronization
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

/// Retries with a budget, a breaker and the server's Retry-After, with the waits recorded instead of slept.
struct RetryPolicyResilienceTests {
    final class Waits: Sendable {
        private let list = Mutex<[Duration]>([])
        var all: [Duration] { list.withLock { $0 } }
        var sleep: @Sendable (Duration) async throws -> Void { { wait in self.list.withLock { $0.append(wait) } } }
    }

    @Test func anEmptyBudgetStopsRetryingSoLoadDoesNotMultiply() async {
        var configuration = RetryBudget.Configuration()
        configuration.capacity = 10
        let budget = RetryBudget(configuration: configuration)
        let policy = RetryPolicy(maxAttempts: 5, baseDelay: .milliseconds(1))
        let calls = Counter(), waits = Waits()
        for _ in 0..<3 {
            await #expect(throws: TaskShimError.self) {
                try await policy.run(budget: budget, shouldRetry: { _ in true }, sleep: waits.sleep) { _ in
                    _ = calls.next()
                    throw TaskShimError.temporary("down")
                }
            }
        }
        // 10 tokens pay for two retries in all; without the budget this would be 15 calls.
        #expect(calls.count == 5)
        #expect(waits.all.count == 2)
    }

    @Test func anOpenBreakerEndsTheRetriesAtOnce() async {
        var configuration = CircuitBreaker.Configuration()
        configuration.minimumCalls = 3
        let breaker = CircuitBreaker(name: "api.example.com", configuration: configuration)
        let policy = RetryPolicy(maxAttempts: 10, baseDelay: .milliseconds(1))
        let calls = Counter(), waits = Waits()
        do {
            _ = try await policy.run(breaker: breaker, shouldRetry: { _ in true }, sleep: waits.sleep) { _ -> Int in
                _ = calls.next()
                throw TaskShimError.temporary("503 from api.example.com")
            }
            Issue.record("no error")
        } catch {
            #expect(calls.count == 3, "the third failure opens the breaker; no fourth call")
            #expect((error as? TaskShimError)?.status == .temporaryFailure)
        }
        do {
            _ = try await policy.run(breaker: breaker, shouldRetry: { _ in true }, sleep: waits.sleep) { _ in calls.next() }
        } catch {
            #expect((error as? TaskShimError)?.message.contains("circuit breaker for api.example.com is open") == true, "\(error)")
        }
        #expect(calls.count == 3, "the open breaker failed the next run without calling")
    }

    @Test func retryAfterIsWaitedWhenLongerButNeverPastTheDeadline() async throws {
        let policy = RetryPolicy(maxAttempts: 3, baseDelay: .milliseconds(1), maxDelay: .seconds(2))
        let calls = Counter(), waits = Waits()
        let result = try await policy.run(shouldRetry: { _ in true }, retryAfter: { _ in .seconds(3) }, sleep: waits.sleep) { attempt in
            if calls.next() == 1 { throw TaskShimError.temporary("429") }
            return attempt
        }
        #expect(result == 2)
        #expect(waits.all == [.seconds(3)])
        await #expect(throws: TaskShimError.self) {
            try await policy.run(deadline: Date().addingTimeInterval(1), shouldRetry: { _ in true }, retryAfter: { _ in .seconds(30) },
                                 sleep: waits.sleep) { _ -> Int in throw TaskShimError.temporary("429") }
        }
        #expect(waits.all.count == 1, "a wait past the deadline is not started")
    }
}
