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

    public init(timeout: Duration = .seconds(5)) {
        self.timeout = timeout
    }

    /// Variables where `file:` is a SQLite database URL, not a reference (use `NAME_FILE` there).
    static let databaseURLs: Set<String> = ["DATABASE_URL", "TASKSHIM_QUEUE_URL"]
    /// Variables `NAME_FILE` may fill besides secret-looking ones.
    static let fileFilled: Set<String> = ["DATABASE_URL", "TASKSHIM_QUEUE_URL", "REDIS_URL", "SPLUNK_HEC_URL", "AUDIT_WEBHOOK_URL"]
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
        for (name, path) in environment.values where name.hasSuffix("_FILE") && path.hasPrefix("/") {
            let base = String(name.dropLast(5))
            guard !base.isEmpty, environment[base] == nil, Redactor.isSecretName(base) || fileFilled.contains(base) else { continue }
            found[base] = SecretReference(source: .file, locator: path)
        }
        return found
    }

    /// `environment` with its references resolved; unchanged (and nothing read) when it has none.
    public func resolve(_ environment: Environment) async throws(TaskShimError) -> Environment {
        let references = try Self.references(in: environment)
        guard !references.isEmpty else { return environment }
        let limit = timeout
        let values: [String: String]
        do {
            values = try await withThrowingTaskGroup(of: (String, String)?.self) { group in
                for (name, reference) in references {
                    group.addTask { (name, try await Self.fetch(reference, for: name, in: environment)) }
                }
                group.addTask {
                    try await Task.sleep(for: limit)
                    throw TaskShimError.temporary("Resolving \(references.count) secret reference(s) took longer than \(limit.seconds) s.",
                                                  hint: "Check the network path to the secrets service, or raise TASKSHIM_SECRETS_TIMEOUT.")
                }
                var values: [String: String] = [:]
                while values.count < references.count, let result = try await group.next() {
                    if let (name, value) = result { values[name] = value }
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
        return resolved
    }

    static func fetch(_ reference: SecretReference, for name: String, in environment: Environment) async throws(TaskShimError) -> String {
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
            raw = try await AWSSecretsManager(environment: environment).secretString(reference.locator, for: name)
        case .gcpSecretManager, .azureKeyVault:
            throw .configuration("\(name) refers to \(reference), and this version of runtime cannot read \(reference.source.rawValue):// secrets yet.",
                                 hint: "Use env:// or file:// references (or NAME_FILE) until the cloud secrets providers land.")
        }
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
