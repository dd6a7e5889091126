import Synchronization

/// A token bucket that bounds retries across all calls to a dependency, as the AWS SDKs' standard
/// retry mode does: a retry takes tokens (more after a timeout), a success gives some back. While a
/// dependency fails, the bucket empties and calls stop retrying, so a failing dependency sees at most
/// a little more load than it would without retries, never a multiple of it.
public final class RetryBudget: Sendable {
    public struct Configuration: Sendable, Equatable {
        public var capacity = 500
        /// Tokens a retry takes.
        public var retryCost = 5
        /// Tokens a retry after a timeout takes.
        public var timeoutRetryCost = 10
        /// Tokens a first-attempt success gives back (a retry's success gives back what it took).
        public var successRefund = 1

        public init() {}
    }

    public let configuration: Configuration
    private let tokens: Mutex<Int>

    public init(configuration: Configuration = Configuration()) {
        self.configuration = configuration
        tokens = Mutex(configuration.capacity)
    }

    public var available: Int { tokens.withLock { $0 } }

    /// Takes the tokens for one retry and says how many; nil, and nothing taken, when the bucket
    /// cannot pay: do not retry.
    public func acquireRetry(afterTimeout: Bool) -> Int? {
        let cost = afterTimeout ? configuration.timeoutRetryCost : configuration.retryCost
        return tokens.withLock { tokens in
            guard tokens >= cost else { return nil }
            tokens -= cost
            return cost
        }
    }

    /// A call succeeded: `retryCost` is what its last retry took (nil for a first attempt).
    public func recordSuccess(retryCost: Int?) {
        let refund = retryCost ?? configuration.successRefund
        tokens.withLock { $0 = min(configuration.capacity, $0 + refund) }
    }
}
