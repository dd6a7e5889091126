import TaskShimCore

/// Handlers' secrets (`context.secrets`): those that came from references through the ``SecretStore``
/// (read again past their TTL or when refused), the rest from the environment. Each value handed out
/// is added to the redactor, refreshed ones included.
public struct StoredSecrets: SecretsProvider {
    private let store: SecretStore?
    private let environment: EnvironmentSecrets
    private let redactor: Redactor

    public init(store: SecretStore?, environment: Environment, redactor: Redactor) {
        self.store = store
        self.environment = EnvironmentSecrets(environment: environment, redactor: redactor)
        self.redactor = redactor
    }

    public func secret(named name: String) async throws -> String? {
        if let value = await store?.value(named: name) {
            redactor.add(value)
            return value
        }
        return try await environment.secret(named: name)
    }

    public func refreshed(named name: String) async throws -> String? {
        if let value = try await store?.refreshed(named: name) {
            redactor.add(value)
            return value
        }
        return try await environment.secret(named: name)
    }
}
