import Logging
import Synchronization

/// The circuit breakers and retry budgets of a process, one per dependency (a database host, an
/// endpoint host), shared by every run: on Lambda and `runtime serve` a dependency that went down
/// during one invocation is still known to be down in the next. The one registry besides the
/// handlers'; handlers reach it through ``HandlerContext/dependencies``.
public final class Dependencies: Sendable {
    public let breakerConfiguration: CircuitBreaker.Configuration
    public let budgetConfiguration: RetryBudget.Configuration
    private let logger: Logger
    private let breakers = Mutex<[String: CircuitBreaker]>([:])
    private let budgets = Mutex<[String: RetryBudget]>([:])

    public init(breaker: CircuitBreaker.Configuration = .init(), budget: RetryBudget.Configuration = .init(),
                logger: Logger = Logger(label: "taskshim.dependencies", factory: { _ in SwiftLogNoOpLogHandler() })) {
        breakerConfiguration = breaker
        budgetConfiguration = budget
        self.logger = logger
    }

    /// The configuration from `TASKSHIM_BREAKER_*` and `TASKSHIM_RETRY_BUDGET` (docs/configuration.md).
    public convenience init(environment: Environment, logger: Logger) throws(TaskShimError) {
        var breaker = CircuitBreaker.Configuration()
        if let window = environment["TASKSHIM_BREAKER_WINDOW"] {
            if window.hasSuffix("s"), let seconds = Int(window.dropLast()), (1...3600).contains(seconds) {
                breaker.window = .time(seconds: seconds)
            } else if let calls = Int(window), (1...10_000).contains(calls) {
                breaker.window = .count(calls)
            } else {
                throw .configuration("TASKSHIM_BREAKER_WINDOW=\(window) is neither a number of calls nor of seconds.",
                                     hint: "Use 20 for the last 20 calls or 60s for the last minute.")
            }
        }
        breaker.failureRateThreshold = try environment.double("TASKSHIM_BREAKER_FAILURE_RATE", default: 50, in: 1...100) / 100
        breaker.slowCallRateThreshold = try environment.double("TASKSHIM_BREAKER_SLOW_RATE", default: 100, in: 1...100) / 100
        breaker.slowCallDuration = .milliseconds(Int64(try environment.double("TASKSHIM_BREAKER_SLOW_CALL", default: 10, in: 0.001...86_400) * 1000))
        breaker.minimumCalls = try environment.int("TASKSHIM_BREAKER_MIN_CALLS", default: 10, in: 1...10_000)
        breaker.openDuration = .seconds(try environment.int("TASKSHIM_BREAKER_OPEN", default: 30, in: 1...86_400))
        breaker.halfOpenCalls = try environment.int("TASKSHIM_BREAKER_HALF_OPEN_CALLS", default: 3, in: 1...1000)
        var budget = RetryBudget.Configuration()
        budget.capacity = try environment.int("TASKSHIM_RETRY_BUDGET", default: 500, in: 0...1_000_000)
        self.init(breaker: breaker, budget: budget, logger: logger)
    }

    /// The breaker for `dependency`, made on first use; its transitions are logged.
    public func breaker(for dependency: String) -> CircuitBreaker {
        let logger = logger
        return breakers.withLock { breakers in
            if let existing = breakers[dependency] { return existing }
            let breaker = CircuitBreaker(name: dependency, configuration: breakerConfiguration, onStateChange: { from, to, breaker in
                let metadata: Logger.Metadata = [
                    "dependency": .string(breaker.name), "from": .string(from.rawValue), "to": .string(to.rawValue),
                    "opened_count": .stringConvertible(breaker.openedCount),
                ]
                if to == .open {
                    logger.warning("circuit breaker opened: calls to \(breaker.name) fail fast", metadata: metadata)
                } else {
                    logger.info("circuit breaker \(to.rawValue)", metadata: metadata)
                }
            })
            breakers[dependency] = breaker
            return breaker
        }
    }

    /// The retry budget for `dependency`, made on first use.
    public func budget(for dependency: String) -> RetryBudget {
        budgets.withLock { budgets in
            if let existing = budgets[dependency] { return existing }
            let budget = RetryBudget(configuration: budgetConfiguration)
            budgets[dependency] = budget
            return budget
        }
    }
}
