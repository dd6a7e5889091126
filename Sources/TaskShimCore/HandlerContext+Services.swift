extension HandlerContext {
    /// The parts of a context that do not change from run to run; immutable, so shared freely.
    final class Services: Sendable {
        struct Parts {
            var environment: Environment
            var secrets: any SecretsProvider
            var output: any LineWriter
            var dependencies: Dependencies
            var audit: any AuditRecorder
        }

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

        /// A copy with some parts changed.
        func with(_ change: (inout Parts) -> Void) -> Services {
            var parts = Parts(environment: environment, secrets: secrets, output: output, dependencies: dependencies, audit: audit)
            change(&parts)
            return Services(environment: parts.environment, secrets: parts.secrets, output: parts.output,
                            dependencies: parts.dependencies, audit: parts.audit)
        }
    }
}
