import TaskShimCore

/// The secrets a process resolved at start-up, kept for its life: read again when older than the TTL
/// (`TASKSHIM_SECRETS_TTL`, for long-running `serve`, `worker` and `lambda` processes), and at once
/// when a service refused one (``refreshed(named:)``), so a rotated key does not need a restart.
public actor SecretStore {
    private let environment: Environment
    private let references: [String: SecretReference]
    private let clients: SecretClients
    private let ttl: Duration?
    private let forcedInterval: Duration
    private var values: [String: (value: String, read: ContinuousClock.Instant)]
    private var forced: [String: ContinuousClock.Instant] = [:]

    /// - Parameters:
    ///   - ttl: how long a value is used before it is read again; nil keeps it for the process's life.
    ///   - forcedInterval: how often a refusal may make one secret be read again (the first always may):
    ///     a key that is simply wrong does not turn every request into a call to the secrets service.
    init(environment: Environment, references: [String: SecretReference], values: [String: String], clients: SecretClients,
         ttl: Duration?, forcedInterval: Duration = .seconds(30)) {
        self.environment = environment
        self.references = references
        self.clients = clients
        self.ttl = ttl
        self.forcedInterval = forcedInterval
        let now = ContinuousClock.now
        self.values = values.mapValues { ($0, now) }
    }

    /// The names of the variables that came from references.
    public var names: Set<String> { Set(values.keys) }

    /// The value of `name` when it came from a reference, else nil. Past the TTL it is read again; if
    /// that fails, the value read before is kept (and read again after the next TTL).
    public func value(named name: String) async -> String? {
        guard let entry = values[name] else { return nil }
        guard let ttl, let reference = references[name], entry.read.duration(to: .now) >= ttl else { return entry.value }
        values[name] = (entry.value, .now)
        guard let fresh = try? await SecretResolver.fetch(reference, for: name, in: environment, clients: clients) else { return entry.value }
        values[name] = (fresh, .now)
        return fresh
    }

    /// `name` read again from its source after a service refused it; nil when it did not come from a
    /// reference. Within `forcedInterval` of the last such read, the value already held.
    public func refreshed(named name: String) async throws(TaskShimError) -> String? {
        guard let entry = values[name], let reference = references[name] else { return nil }
        if let last = forced[name], last.duration(to: .now) < forcedInterval { return entry.value }
        forced[name] = .now
        let fresh = try await SecretResolver.fetch(reference, for: name, in: environment, clients: clients)
        values[name] = (fresh, .now)
        return fresh
    }
}
