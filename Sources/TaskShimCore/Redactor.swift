import FoundationEssentials

/// Replaces secret values with `***` in everything the log backend writes.
///
/// Values are registered when a secrets provider hands them out and, at start-up, from environment
/// variables whose names say they hold a secret (`*_KEY`, `*_TOKEN`, `*PASSWORD*`, ...) and from passwords
/// embedded in URLs (`postgres://user:pass@host`).
public final class Redactor: Sendable {
    public static let mask = "***"
    /// Shorter values would mask ordinary words and numbers.
    static let minimumLength = 4

    private let lock = Lock()
    nonisolated(unsafe) private var secrets: [(text: String, bytes: [UInt8])] = []

    public init() {}

    /// Registers a secret value.
    public func add(_ value: String) {
        guard value.count >= Self.minimumLength else { return }
        lock.withLock {
            if !secrets.contains(where: { $0.text == value }) {
                secrets.append((value, Array(value.utf8)))
                // Longest first, so a secret containing another is masked whole.
                secrets.sort { $0.bytes.count > $1.bytes.count }
            }
        }
    }

    /// Registers the secret-looking values of an environment.
    public func addSecrets(from environment: Environment) {
        for (name, value) in environment.values where !value.isEmpty {
            if Self.isSecretName(name) || environment.secretNames.contains(name) {
                add(value)
            }
            if let password = Self.urlPassword(in: value) {
                add(password)
                add(password.percentDecoded)
            }
        }
    }

    /// Whether a variable or field name says it holds a secret.
    public static func isSecretName(_ name: String) -> Bool {
        // Runs for every metadata key of every log line: bytes, not `String.contains`, which builds a
        // search table per call.
        let upper = name.utf8.map { $0 >= 0x61 && $0 <= 0x7A ? $0 - 0x20 : $0 }
        // Names about a secret, not holding one: SECRETS_PROVIDER (a backend), TELEMETRY_SECRETS_ID (an id),
        // AWS_WEB_IDENTITY_TOKEN_FILE and GOOGLE_APPLICATION_CREDENTIALS (paths).
        if Self.aboutSecretSuffixes.contains(where: { upper.hasSuffix($0) }) || upper.elementsEqual(Self.googleCredentials) { return false }
        if Self.secretMarkers.contains(where: { upper.containsBytes($0) }) { return true }
        return upper.hasSuffix(Array("_KEY".utf8)) || upper.elementsEqual("KEY".utf8)
    }

    private static let aboutSecretSuffixes = ["_PROVIDER", "_FILE", "_SECRET_ID", "_SECRETS_ID"].map { Array($0.utf8) }
    private static let googleCredentials = Array("GOOGLE_APPLICATION_CREDENTIALS".utf8)
    private static let secretMarkers = ["PASSWORD", "PASSWD", "SECRET", "TOKEN", "API_KEY", "APIKEY", "PRIVATE_KEY",
                                        "ACCESS_KEY", "CREDENTIAL", "AUTHORIZATION", "SESSION_KEY", "IDENTITY_HEADER"].map { Array($0.utf8) }

    /// The password of a `scheme://user:password@host` URL, if the string is one.
    static func urlPassword(in value: String) -> String? {
        guard let schemeEnd = value.firstRange(of: "://") else { return nil }
        let rest = value[schemeEnd.upperBound...]
        guard let at = rest.firstIndex(of: "@") else { return nil }
        let userInfo = rest[..<at]
        guard !userInfo.contains("/"), let colon = userInfo.firstIndex(of: ":") else { return nil }
        let password = userInfo[userInfo.index(after: colon)...]
        return password.isEmpty ? nil : String(password)
    }

    /// `text` with every registered secret replaced by the mask.
    public func redact(_ text: String) -> String {
        let current = lock.withLock { secrets }
        guard !current.isEmpty else { return text }
        let bytes = Array(text.utf8)
        var result = text
        for secret in current where bytes.containsBytes(secret.bytes) {
            result = result.replacing(secret.text, with: Self.mask)
        }
        return result
    }
}

extension Array where Element == UInt8 {
    func hasSuffix(_ suffix: [UInt8]) -> Bool {
        count >= suffix.count && self[(count - suffix.count)...].elementsEqual(suffix)
    }
}
