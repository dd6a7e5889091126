extension HandlerContext {
    /// The parts of a context that do not change from run to run; immutable, so shared freely.
    final class Services: Sendable {
        let environment: Environment
        let secrets: any SecretsProvider
        let output: any LineWriter
        let dependencies: Dependencies
        let audit: any AuditRecorder
        /// Whether runs are recorded at all: asked once, not per run.
        let isAuditing: Bool

        init(environment: Environment, secrets: any SecretsProvider, output: any LineWriter, dependencies: Dependencies,
             audit: any AuditRecorder) {
            self.environment = environment
            self.secrets = secrets
            self.output = output
            self.dependencies = dependencies
            self.audit = audit
            isAuditing = !(audit is NoAudit)
        }
    }
}
