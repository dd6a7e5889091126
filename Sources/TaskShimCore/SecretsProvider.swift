/// Where handlers get credentials. Every value a provider returns is registered with the
/// ``Redactor`` so that it can never appear in a log line.
public protocol SecretsProvider: Sendable {
    /// The secret's value, or nil when the provider has no secret of that name.
    func secret(named name: String) async throws -> String?
}

/// Secrets from environment variables: `SECRETS_PROVIDER=env`, the default.
public struct EnvironmentSecrets: SecretsProvider {
    private let environment: Environment
    private let redactor: Redactor

    public init(environment: Environment, redactor: Redactor) {
        self.environment = environment
        self.redactor = redactor
    }

    public func secret(named name: String) async throws -> String? {
        guard let value = environment[name] else { return nil }
        redactor.add(value)
        return value
    }
}

/// The secrets provider `SECRETS_PROVIDER` names.
public enum SecretsProviders {
    /// `env` (or unset) reads environment variables. The seeds' `aws`, `gcp` and `azure` are refused with
    /// a configuration error until their providers exist, rather than silently reading the environment.
    public static func make(environment: Environment, redactor: Redactor) throws(TaskShimError) -> any SecretsProvider {
        switch environment["SECRETS_PROVIDER"]?.lowercased() {
        case nil, "env":
            return EnvironmentSecrets(environment: environment, redactor: redactor)
        case let other?:
            throw .configuration("SECRETS_PROVIDER=\(other) is not available in this version of runtime.",
                                 hint: "Use SECRETS_PROVIDER=env (the default) and pass secrets as environment variables.")
        }
    }
}
