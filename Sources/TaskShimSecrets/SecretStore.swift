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
    private var reading: [String: Task<String, any Error>] = [:]

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
        guard let ttl, entry.read.duration(to: .now) >= ttl else { return entry.value }
        values[name] = (entry.value, .now)  // one read per TTL, even when it fails
        return (try? await read(name)) ?? entry.value
    }

    /// `name` read again from its source after a service refused it; nil when it did not come from a
    /// reference. Within `forcedInterval` of the last such read, the value already held. Callers
    /// refused at the same time share one read and all get its value.
    public func refreshed(named name: String) async throws(TaskShimError) -> String? {
        guard let entry = values[name] else { return nil }
        if reading[name] == nil, let last = forced[name], last.duration(to: .now) < forcedInterval { return entry.value }
        forced[name] = .now
        return try await read(name)
    }

    /// One read of `name` at a time: a caller arriving during a read waits for it, so a read that
    /// started earlier never overwrites the value of a later one.
    private func read(_ name: String) async throws(TaskShimError) -> String {
        let task: Task<String, any Error>
        if let running = reading[name] {
            task = running
        } else {
            guard let reference = references[name] else { throw TaskShimError(.software, "\(name) has no secret reference.") }
            let (environment, clients) = (environment, clients)
            task = Task { try await SecretResolver.fetch(reference, for: name, in: environment, clients: clients) }
            reading[name] = task
        }
        do {
            let fresh = try await task.value
            if reading[name] == task {
                reading[name] = nil
                values[name] = (fresh, .now)
            }
            return fresh
        } catch {
            if reading[name] == task { reading[name] = nil }
            throw .wrapping(error)
        }
    }
}
