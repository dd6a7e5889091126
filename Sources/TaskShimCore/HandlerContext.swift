import FoundationEssentials
import Logging

/// What a handler gets besides its invocation: a logger already carrying the invocation's metadata,
/// the configuration, secrets, and a writer for results that belong on stdout (dry runs).
public struct HandlerContext: Sendable {
    /// Built when asked for: a run whose handler does not log pays nothing for its metadata.
    public var logger: Logger {
        get { identity.map { $0.logger(from: baseLogger) } ?? baseLogger }
        set {
            baseLogger = newValue
            identity = nil
        }
    }
    private var baseLogger: Logger
    /// The run the logger's lines are about, when the runner made this context.
    private var identity: RunIdentity?
    /// Counters for the run-summary line.
    public var metrics: RunMetrics
    /// What every run of a runner shares, held once: a context costs a reference to it, not one per
    /// part (each a reference count that the server's threads would take turns changing).
    private let services: Services

    public var environment: Environment { services.environment }
    public var secrets: any SecretsProvider { services.secrets }
    /// Where dry-run output and other user-facing results go (stdout by default).
    public var output: any LineWriter { services.output }
    /// Circuit breakers and retry budgets per dependency, shared by the process's runs.
    public var dependencies: Dependencies { services.dependencies }
    /// The audit trail, for events of the handler's own (`context.audit.record(AuditEvent(action: ...))`).
    public var audit: any AuditRecorder { services.audit }

    public init(logger: Logger, environment: Environment, secrets: any SecretsProvider, output: any LineWriter,
                metrics: RunMetrics = RunMetrics(), dependencies: Dependencies = Dependencies(), audit: any AuditRecorder = NoAudit()) {
        self.init(logger: logger, metrics: metrics,
                  services: Services(environment: environment, secrets: secrets, output: output, dependencies: dependencies, audit: audit))
    }

    init(logger: Logger, identity: RunIdentity? = nil, metrics: RunMetrics, services: Services) {
        self.baseLogger = logger
        self.identity = identity
        self.metrics = metrics
        self.services = services
    }
}
