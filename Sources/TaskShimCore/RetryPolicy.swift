import FoundationEssentials

/// Exponential backoff with full jitter: before attempt n+1 wait a random time in
/// `[0, min(maxDelay, baseDelay * 2^(n-1))]`, and never past the deadline.
public struct RetryPolicy: Sendable {
    public var maxAttempts: Int
    public var baseDelay: Duration
    public var maxDelay: Duration

    public init(maxAttempts: Int = 4, baseDelay: Duration = .milliseconds(500), maxDelay: Duration = .seconds(20)) {
        precondition(maxAttempts >= 1, "a retry policy needs at least one attempt")
        self.maxAttempts = maxAttempts
        self.baseDelay = baseDelay
        self.maxDelay = maxDelay
    }

    /// The largest wait before the attempt following attempt number `attempt` (1-based).
    public func delayCap(after attempt: Int) -> Duration {
        let exponent = min(attempt - 1, 30)
        let scaled = baseDelay * (1 << exponent)
        return min(scaled, maxDelay)
    }

    /// A random wait in `[0, delayCap(after: attempt)]`.
    public func delay<G: RandomNumberGenerator>(after attempt: Int, using generator: inout G) -> Duration {
        let cap = delayCap(after: attempt)
        let nanos = cap.nanoseconds
        guard nanos > 0 else { return .zero }
        return .nanoseconds(Int64.random(in: 0...nanos, using: &generator))
    }

    /// Runs `operation` until it succeeds, throws an error `shouldRetry` rejects, runs out of attempts,
    /// or the next wait would end after `deadline` (by default the run's, ``Deadline/current``). With a `budget`, each retry must be paid for from
    /// it (no tokens: no retry); with a `breaker`, every attempt asks it first, so an open breaker ends
    /// the loop at once with its own error. `retryAfter` is the server's wish (`Retry-After`), waited
    /// instead of a shorter jittered delay. `onRetry` hears each failure that will be retried.
    public func run<T: Sendable>(
        deadline: Date? = nil,
        budget: RetryBudget? = nil,
        breaker: CircuitBreaker? = nil,
        shouldRetry: @Sendable (any Error) -> Bool,
        isTimeout: @Sendable (any Error) -> Bool = { _ in false },
        retryAfter: @Sendable (any Error) -> Duration? = { _ in nil },
        onRetry: @Sendable (_ attempt: Int, _ delay: Duration, _ error: any Error) -> Void = { _, _, _ in },
        sleep: @Sendable (Duration) async throws -> Void = { try await Task.sleep(for: $0) },
        _ operation: @Sendable (_ attempt: Int) async throws -> T
    ) async throws -> T {
        let deadline = deadline ?? Deadline.current
        var generator = SystemRandomNumberGenerator()
        var attempt = 1
        var paid: Int?
        while true {
            do {
                let value: T
                if let breaker {
                    value = try await breaker.run { try await operation(attempt) }
                } else {
                    value = try await operation(attempt)
                }
                budget?.recordSuccess(retryCost: paid)
                return value
            } catch {
                // An open breaker is an answer, not a failure to retry.
                guard attempt < maxAttempts, shouldRetry(error), !(breaker.map { $0.currentState == .open } ?? false) else { throw error }
                var wait = delay(after: attempt, using: &generator)
                if let wished = retryAfter(error), wished > wait { wait = min(wished, maxDelay * 4) }
                if let deadline {
                    if Date().addingTimeInterval(wait.seconds) >= deadline { throw error }
                }
                if let budget {
                    guard let cost = budget.acquireRetry(afterTimeout: isTimeout(error)) else { throw error }
                    paid = cost
                }
                onRetry(attempt, wait, error)
                try await sleep(wait)
                attempt += 1
            }
        }
    }
}

extension RetryPolicy {
    /// This policy for `invocation`: when its platform retries failed runs, at most `attempts` tries
    /// in process (`TASKSHIM_PLATFORM_RETRY_ATTEMPTS`, 2), since every platform attempt would
    /// otherwise repeat the whole in-process series (Lambda's 3 tries of an asynchronous event times 4
    /// is 12 calls to a dependency that is down).
    public func bounded(for invocation: Invocation, attempts: Int) -> RetryPolicy {
        guard invocation.platformRetries else { return self }
        var policy = self
        policy.maxAttempts = max(1, min(maxAttempts, attempts))
        return policy
    }
}
