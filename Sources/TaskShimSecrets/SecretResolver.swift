import FoundationEssentials
import TaskShimCore

/// Resolves the secret references in an environment once, at start-up, all at once under one time
/// limit: a variable whose value is a ``SecretReference`` gets the secret's value, and so does `NAME`
/// when `NAME_FILE` holds a path and `NAME` is unset (the Docker and Kubernetes convention) for
/// secret-looking names and the connection URLs. Every resolved variable is marked secret, so its
/// value is redacted from every log line, error and audit event.
public struct SecretResolver: Sendable {
    /// The most all references together may take (`TASKSHIM_SECRETS_TIMEOUT`).
    public var timeout: Duration
    /// How many references are read at once (`TASKSHIM_SECRETS_CONCURRENCY`; 1 reads them one by one).
    public var concurrency: Int

    public init(timeout: Duration = .seconds(5), concurrency: Int = 16) {
        self.timeout = timeout
        self.concurrency = max(1, concurrency)
    }

    /// Variables where `file:` is a SQLite database URL, not a reference (use `NAME_FILE` there).
    static let databaseURLs: Set<String> = ["DATABASE_URL", "TASKSHIM_QUEUE_URL"]
    /// Variables `NAME_FILE` may fill besides secret-looking ones.
    static let fileFilled: Set<String> = ["DATABASE_URL", "TASKSHIM_QUEUE_URL", "REDIS_URL", "SPLUNK_HEC_URL", "AUDIT_WEBHOOK_URL"]
    /// Platform variables whose `_FILE` is their own: the platforms' SDKs read these files, and so does runtime.
    static let platformFiles: Set<String> = ["AWS_SHARED_CREDENTIALS_FILE", "AWS_CONFIG_FILE", "AWS_WEB_IDENTITY_TOKEN_FILE",
                                             "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE", "AZURE_FEDERATED_TOKEN_FILE"]
    /// A secret larger than this is refused (a mistaken path such as a log file).
    static let maximumBytes = 1 << 20

    /// The references `environment` holds, by the variable they fill.
    public static func references(in environment: Environment) throws(TaskShimError) -> [String: SecretReference] {
        var found: [String: SecretReference] = [:]
        for (name, value) in environment.values where !value.isEmpty {
            if databaseURLs.contains(name), value.lowercased().hasPrefix("file:") { continue }
            do {
                if let reference = try SecretReference(parsing: value) { found[name] = reference }
            } catch {
                throw .configuration("\(name): \(error.message)", hint: error.hint)
            }
        }
        for (name, reference) in try providerReferences(in: environment) where found[name] == nil {
            found[name] = reference
        }
        for (name, path) in environment.values where name.hasSuffix("_FILE") && path.hasPrefix("/") && !platformFiles.contains(name) {
            let base = String(name.dropLast(5))
            guard !base.isEmpty, environment[base] == nil, Redactor.isSecretName(base) || fileFilled.contains(base) else { continue }
            found[base] = SecretReference(source: .file, locator: path)
        }
        return found
    }

    /// The seeds' secret ids, read when `SECRETS_PROVIDER` is `aws`, `gcp` or `azure`: the secret
    /// `TELEMETRY_SECRETS_ID` names fills `TELEMETRY_API_KEY`, and `DATABASE_SECRET_ID`'s fills
    /// `DATABASE_URL`, each when unset. Such a secret may be the value itself or a JSON object
    /// (``SecretResolver/value(_:for:)``).
    static let providerIDs = [("TELEMETRY_SECRETS_ID", "TELEMETRY_API_KEY"), ("DATABASE_SECRET_ID", "DATABASE_URL")]

    static func providerReferences(in environment: Environment) throws(TaskShimError) -> [String: SecretReference] {
        let provider = environment["SECRETS_PROVIDER"]?.lowercased() ?? "env"
        guard provider != "env" else { return [:] }
        var found: [String: SecretReference] = [:]
        for (idName, target) in providerIDs where environment[target] == nil {
            guard let id = environment[idName], !id.isEmpty else { continue }
            let locator: String
            switch provider {
            case "aws":
                locator = id
            case "gcp":
                if id.hasPrefix("projects/") {
                    locator = id.contains("/versions/") ? id : id + "/versions/latest"
                } else {
                    guard let project = environment["GOOGLE_CLOUD_PROJECT"] ?? environment["GCLOUD_PROJECT"] ?? environment["GCP_PROJECT"] else {
                        throw .configuration("\(idName)=\(id) names a Secret Manager secret, but not its project.",
                                             hint: "Set GOOGLE_CLOUD_PROJECT, or write projects/PROJECT/secrets/\(id).")
                    }
                    locator = "projects/\(project)/secrets/\(id)/versions/latest"
                }
            case "azure":
                guard let vault = environment["AZURE_KEYVAULT_URL"].map(vaultHost) ?? environment["AZURE_KEY_VAULT_NAME"] else {
                    throw .configuration("\(idName)=\(id) names a Key Vault secret, but not its vault.",
                                         hint: "Set AZURE_KEYVAULT_URL (https://NAME.vault.azure.net/) or AZURE_KEY_VAULT_NAME.")
                }
                locator = vault + "/" + id
            default:
                throw .configuration("SECRETS_PROVIDER=\(provider) is not a secrets provider.", hint: "Use env (the default), aws, gcp or azure.")
            }
            let source: SecretReference.Source = provider == "aws" ? .awsSecretsManager : provider == "gcp" ? .gcpSecretManager : .azureKeyVault
            // Checked as a written reference would be (the id goes into a URL path).
            let written: SecretReference?
            do {
                written = try SecretReference(parsing: "\(source.rawValue)://\(locator)")
            } catch {
                throw .configuration("\(idName)=\(id): \(error.message)", hint: error.hint)
            }
            guard let written, written.jsonKey == nil else {
                throw .configuration("\(idName)=\(id) is not a secret id.", hint: "Write the secret's name, without #.")
            }
            found[target] = SecretReference(source: source, locator: written.locator, bundle: true)
        }
        return found
    }

    /// `https://NAME.vault.azure.net/` → `NAME.vault.azure.net`.
    static func vaultHost(_ url: String) -> String {
        var host = url
        if let scheme = host.firstRange(of: "://") { host = String(host[scheme.upperBound...]) }
        return String(host.prefix { $0 != "/" })
    }

    /// `environment` with its references resolved; unchanged (and nothing read) when it has none.
    public func resolve(_ environment: Environment) async throws(TaskShimError) -> Environment {
        try await resolved(environment, ttl: nil).environment
    }

    /// `environment` with its references resolved, and the store that keeps them for the process's
    /// life (nil when there were none), reading each again after `ttl` or when it is refused.
    public func resolved(_ environment: Environment, ttl: Duration?) async throws(TaskShimError) -> (environment: Environment, store: SecretStore?) {
        let references = try Self.references(in: environment)
        guard !references.isEmpty else { return (environment, nil) }
        let limit = timeout
        let concurrency = concurrency
        let clients = SecretClients(environment: environment)
        let values: [String: String]
        do {
            values = try await withThrowingTaskGroup(of: (String, String)?.self) { group in
                var waiting = references.sorted { $0.key < $1.key }[...]
                func startNext() {
                    guard let (name, reference) = waiting.popFirst() else { return }
                    group.addTask { (name, try await Self.fetch(reference, for: name, in: environment, clients: clients)) }
                }
                for _ in 0..<concurrency { startNext() }
                group.addTask {
                    try await Task.sleep(for: limit)
                    throw TaskShimError.temporary("Resolving \(references.count) secret reference(s) took longer than \(limit.seconds) s.",
                                                  hint: "Check the network path to the secrets service, or raise TASKSHIM_SECRETS_TIMEOUT.")
                }
                var values: [String: String] = [:]
                while values.count < references.count, let result = try await group.next() {
                    if let (name, value) = result {
                        values[name] = value
                        startNext()
                    }
                }
                group.cancelAll()
                return values
            }
        } catch {
            throw .wrapping(error)
        }
        var resolved = environment
        for (name, value) in values {
            resolved.values[name] = value
            resolved.secretNames.insert(name)
        }
        return (resolved, SecretStore(environment: environment, references: references, values: values, clients: clients, ttl: ttl))
    }

    static func fetch(_ reference: SecretReference, for name: String, in environment: Environment,
                      clients: SecretClients) async throws(TaskShimError) -> String {
        let raw: String
        switch reference.source {
        case .environment:
            guard let value = environment[reference.locator] else {
                throw .configuration("\(name) refers to \(reference), which is not set.", hint: "Set \(reference.locator), or change \(name).")
            }
            raw = value
        case .file:
            raw = try readFile(reference.locator, for: name)
        case .awsSecretsManager:
            raw = try await clients.aws.secretString(reference.locator, for: name)
        case .gcpSecretManager:
            raw = try await clients.gcp.secretString(reference.locator, for: name)
        case .azureKeyVault:
            let parts = reference.locator.split(separator: "/", maxSplits: 1)
            raw = try await clients.azure.secretString(vault: String(parts[0]), name: String(parts[1]), for: name)
        }
        if reference.bundle { return try bundled(raw, for: name, from: reference) }
        guard let key = reference.jsonKey else { return raw }
        guard let object = JSONValue.parse(Data(raw.utf8))?.object else {
            throw .configuration("\(name) asks for the field \(key) of \(reference.description.split(separator: "#")[0]), which is not a JSON object.",
                                 hint: "Drop #\(key) to take the whole secret.")
        }
        switch object[key] {
        case .string(let text)?: return text
        case .number(let number)?: return JSONLine.number(number)
        case .bool(let flag)?: return flag ? "true" : "false"
        default:
            throw .configuration("\(name) asks for the field \(key) of \(reference.description.split(separator: "#")[0]), which has no such text field.",
                                 hint: "Its fields are: \(object.keys.sorted().joined(separator: ", ")).")
        }
    }

    /// A provider id's secret: the value itself, or a JSON object holding it. For `DATABASE_URL` the
    /// object may hold `url`, or be an RDS-style secret (`username`, `password`, `host`, `port`,
    /// `dbname`, `engine`) the URL is built from; for another name, the field of that name (or
    /// `api_key`, `apiKey`, `key`).
    static func bundled(_ raw: String, for name: String, from reference: SecretReference) throws(TaskShimError) -> String {
        guard raw.hasPrefix("{"), let object = JSONValue.parse(Data(raw.utf8))?.object else { return raw }
        func text(_ key: String) -> String? {
            switch object[key] {
            case .string(let value)?: value
            case .number(let value)?: JSONLine.number(value)
            default: nil
            }
        }
        if name == "DATABASE_URL" {
            if let url = text("url") ?? text("DATABASE_URL") { return url }
            guard let user = text("username"), let password = text("password"), let host = text("host") else {
                throw .configuration("DATABASE_URL comes from \(reference), a JSON object with neither url nor username, password and host.",
                                     hint: "Store the URL as the secret, or as its url field, or use an RDS database secret.")
            }
            let engine = text("engine") ?? "postgres"
            guard engine.hasPrefix("postgres") else {
                throw .configuration("DATABASE_URL comes from \(reference), a secret for a \(engine) database: runtime speaks PostgreSQL.")
            }
            let port = text("port").map { ":" + $0 } ?? ""
            let database = text("dbname").map { "/" + CloudHTTP.percentEncoded($0) } ?? ""
            return "postgresql://\(CloudHTTP.percentEncoded(user)):\(CloudHTTP.percentEncoded(password))@\(host)\(port)\(database)"
        }
        for key in [name, "api_key", "apiKey", "key"] {
            if let value = text(key) { return value }
        }
        throw .configuration("\(name) comes from \(reference), a JSON object without a field \(name), api_key, apiKey or key.",
                             hint: "Its fields are: \(object.keys.sorted().joined(separator: ", ")).")
    }

    private static func readFile(_ path: String, for name: String) throws(TaskShimError) -> String {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw .configuration("\(name) refers to the file \(path), which does not exist or cannot be read.",
                                 hint: "Check the secret is mounted there and readable by this user.")
        }
        guard data.count <= maximumBytes else {
            throw .configuration("\(name) refers to the file \(path), which is over 1 MiB: not a secret.", hint: "Check the path.")
        }
        var text = String(decoding: data, as: UTF8.self)
        if text.hasSuffix("\r\n") { text.removeLast(2) } else if text.hasSuffix("\n") { text.removeLast() }
        return text
    }
}
