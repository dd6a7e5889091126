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
        let nanos = cap.components.seconds * 1_000_000_000 + cap.components.attoseconds / 1_000_000_000
        guard nanos > 0 else { return .zero }
        return .nanoseconds(Int64.random(in: 0...nanos, using: &generator))
    }

    /// Runs `operation` until it succeeds, throws an error `shouldRetry` rejects, runs out of attempts,
    /// or the next wait would end after `deadline`. `onRetry` hears each failure that will be retried.
    public func run<T: Sendable>(
        deadline: Date? = nil,
        shouldRetry: @Sendable (any Error) -> Bool,
        onRetry: @Sendable (_ attempt: Int, _ delay: Duration, _ error: any Error) -> Void = { _, _, _ in },
        _ operation: @Sendable (_ attempt: Int) async throws -> T
    ) async throws -> T {
        var generator = SystemRandomNumberGenerator()
        var attempt = 1
        while true {
            do {
                return try await operation(attempt)
            } catch {
                guard attempt < maxAttempts, shouldRetry(error) else { throw error }
                let wait = delay(after: attempt, using: &generator)
                if let deadline {
                    let seconds = Double(wait.components.seconds) + Double(wait.components.attoseconds) / 1e18
                    if Date().addingTimeInterval(seconds) >= deadline { throw error }
                }
                onRetry(attempt, wait, error)
                try await Task.sleep(for: wait)
                attempt += 1
            }
        }
    }
}
