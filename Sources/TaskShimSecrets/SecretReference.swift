import TaskShimCore

/// Where a secret lives, written as a URL in place of a configuration value:
///
/// - `env://VAR`: another environment variable;
/// - `file:///path`: a file's contents (Kubernetes and Docker mount secrets as files), one trailing
///   newline dropped;
/// - `aws-sm://NAME` or `aws-sm://arn:aws:secretsmanager:...`: AWS Secrets Manager;
/// - `gcp-sm://projects/P/secrets/S/versions/V`: Google Secret Manager;
/// - `azure-kv://VAULT/NAME`: Azure Key Vault.
///
/// Any of them may end with `#key`: the secret is then a JSON object and the value is its `key`.
public struct SecretReference: Sendable, Equatable, CustomStringConvertible {
    public enum Source: String, Sendable, CaseIterable {
        case environment = "env"
        case file
        case awsSecretsManager = "aws-sm"
        case gcpSecretManager = "gcp-sm"
        case azureKeyVault = "azure-kv"
    }

    public var source: Source
    /// The variable, path, secret name or ARN, resource name, or `VAULT/NAME`.
    public var locator: String
    /// The JSON field to take from the secret, when the reference ends with `#key`.
    public var jsonKey: String?

    /// A `SECRETS_PROVIDER` secret id's reference: its value may be a JSON object holding the value.
    var bundle = false

    public init(source: Source, locator: String, jsonKey: String? = nil) {
        self.source = source
        self.locator = locator
        self.jsonKey = jsonKey
    }

    init(source: Source, locator: String, bundle: Bool) {
        self.init(source: source, locator: locator)
        self.bundle = bundle
    }

    /// The reference `text` is, nil when it is not one (no secret scheme: an ordinary value); throws
    /// when it has a secret scheme but is malformed, so a typo is not taken for a literal value.
    public init?(parsing text: String) throws(TaskShimError) {
        guard let colon = text.firstIndex(of: ":"), text[colon...].hasPrefix("://"),
              let source = Source(rawValue: text[..<colon].lowercased()) else { return nil }
        var rest = String(text[text.index(colon, offsetBy: 3)...])
        var key: String?
        if let hash = rest.lastIndex(of: "#") {
            key = String(rest[rest.index(after: hash)...])
            rest = String(rest[..<hash])
            guard key?.isEmpty == false else {
                throw .configuration("The secret reference \(text) ends with an empty #key.", hint: "Write #field after it, or drop the #.")
            }
        }
        guard !rest.isEmpty else {
            throw .configuration("The secret reference \(text) names no secret.", hint: Self.examples)
        }
        switch source {
        case .environment:
            guard rest.allSatisfy({ $0 == "_" || $0.isLetter || $0.isNumber }) else {
                throw .configuration("env://\(rest) is not an environment variable name.", hint: Self.examples)
            }
        case .file:
            guard rest.hasPrefix("/") else {
                throw .configuration("file://\(rest) is not an absolute path.", hint: "Write file:///var/run/secrets/name (three slashes).")
            }
        case .gcpSecretManager:
            // Each part goes into a URL path: only the characters project, secret and version ids may hold.
            let parts = rest.split(separator: "/", omittingEmptySubsequences: false)
            guard parts.count == 6, parts[0] == "projects", parts[2] == "secrets", parts[4] == "versions",
                  [parts[1], parts[3], parts[5]].allSatisfy({ Self.isName($0, extra: "_.:-") }) else {
                throw .configuration("gcp-sm://\(rest) is not projects/PROJECT/secrets/SECRET/versions/VERSION.", hint: Self.examples)
            }
        case .azureKeyVault:
            let parts = rest.split(separator: "/", omittingEmptySubsequences: false)
            guard parts.count == 2, Self.isName(parts[0], extra: ".-"), Self.isName(parts[1], extra: "-") else {
                throw .configuration("azure-kv://\(rest) is not VAULT/NAME (letters, digits and dashes; a vault may be a host name).",
                                     hint: Self.examples)
            }
        case .awsSecretsManager:
            break
        }
        self.init(source: source, locator: rest, jsonKey: key)
    }

    /// Non-empty, ASCII letters and digits and the `extra` characters only.
    static func isName(_ text: Substring, extra: String) -> Bool {
        !text.isEmpty && text.unicodeScalars.allSatisfy { $0.isASCII && ($0.properties.isAlphabetic || ("0"..."9").contains($0) || extra.unicodeScalars.contains($0)) }
    }

    public var description: String { "\(source.rawValue)://\(locator)" + (jsonKey.map { "#" + $0 } ?? "") }

    static let examples = "For example env://DB_PASSWORD, file:///var/run/secrets/db-password, aws-sm://prod/db#password, "
        + "gcp-sm://projects/p/secrets/s/versions/latest, azure-kv://vault/name."
}
