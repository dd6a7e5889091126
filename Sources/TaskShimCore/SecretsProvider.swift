/// Where handlers get credentials. Every value a provider returns is registered with the
/// ``Redactor`` so that it can never appear in a log line.
public protocol SecretsProvider: Sendable {
    /// The secret's value, or nil when the provider has no secret of that name.
    func secret(named name: String) async throws -> String?

    /// The secret read again from its source, after a service refused the value ``secret(named:)``
    /// gave (a key rotated since): call it on a 401 or 403, and retry once if the value changed.
    func refreshed(named name: String) async throws -> String?
}

extension SecretsProvider {
    /// A provider whose values cannot change gives the same value again.
    public func refreshed(named name: String) async throws -> String? {
        try await secret(named: name)
    }
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

/// The secrets provider `SECRETS_PROVIDER` names. Cloud secrets (`aws`, `gcp`, `azure`: the seeds'
/// secret ids, and secret references) are resolved into the environment at start-up, before any
/// command runs, so every provider reads the resolved environment here.
public enum SecretsProviders {
    public static let names = ["env", "aws", "gcp", "azure"]

    public static func make(environment: Environment, redactor: Redactor) throws(TaskShimError) -> any SecretsProvider {
        let name = environment["SECRETS_PROVIDER"]?.lowercased() ?? "env"
        guard names.contains(name) else {
            throw .configuration("SECRETS_PROVIDER=\(name) is not a secrets provider.", hint: "Use env (the default), aws, gcp or azure.")
        }
        return EnvironmentSecrets(environment: environment, redactor: redactor)
    }
}
