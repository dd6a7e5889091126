import FoundationEssentials
import Logging

extension Dependencies {
    /// Runs `operation` against `dependency` the standard way: under its circuit breaker, retried by
    /// `policy` on temporary errors (the clients classify: refused connections, timeouts, HTTP 5xx,
    /// PostgreSQL's transient SQLSTATEs, Redis's `LOADING` and `BUSY`...) with retries paid from its
    /// budget, never past the run's deadline. Each retry is logged as `<what> failed; retrying`.
    public func call<T: Sendable>(_ dependency: String, _ what: String, policy: RetryPolicy, logger: Logger,
                                  _ operation: @Sendable (_ attempt: Int) async throws -> T) async throws -> T {
        try await policy.run(
            budget: budget(for: dependency), breaker: breaker(for: dependency),
            shouldRetry: { ($0 as? TaskShimError)?.isRetryable ?? false },
            retryAfter: { ($0 as? TaskShimError)?.retryAfter },
            onRetry: { attempt, delay, error in
                logger.warning("\(what) failed; retrying", metadata: [
                    "dependency": .string(dependency), "try": .stringConvertible(attempt),
                    "retry_in_ms": .stringConvertible(Int(delay.seconds * 1000)), "error": .string("\(error)"),
                ])
            },
            operation)
    }
}
