import FoundationEssentials
import Logging

/// What a handler gets besides its invocation: a logger already carrying the invocation's metadata,
/// the configuration, secrets, and a writer for results that belong on stdout (dry runs).
public struct HandlerContext: Sendable {
    public var logger: Logger
    public var environment: Environment
    public var secrets: any SecretsProvider
    /// Where dry-run output and other user-facing results go (stdout by default).
    public var output: any LineWriter
    /// Counters for the run-summary line.
    public var metrics: RunMetrics
    /// Circuit breakers and retry budgets per dependency, shared by the process's runs.
    public var dependencies: Dependencies
    /// The audit trail, for events of the handler's own (`context.audit.record(AuditEvent(action: ...))`).
    public var audit: any AuditRecorder

    public init(logger: Logger, environment: Environment, secrets: any SecretsProvider, output: any LineWriter,
                metrics: RunMetrics = RunMetrics(), dependencies: Dependencies = Dependencies(), audit: any AuditRecorder = NoAudit()) {
        self.logger = logger
        self.environment = environment
        self.secrets = secrets
        self.output = output
        self.metrics = metrics
        self.dependencies = dependencies
        self.audit = audit
    }
}
