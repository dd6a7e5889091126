import Foundation

/// Replaces secret values with `***` in everything the log backend writes.
///
/// Values are registered when a secrets provider hands them out and, at start-up, from environment
/// variables whose names say they hold a secret (`*_KEY`, `*_TOKEN`, `*PASSWORD*`, ...) and from passwords
/// embedded in URLs (`postgres://user:pass@host`).
public final class Redactor: @unchecked Sendable {
    public static let mask = "***"
    /// Shorter values would mask ordinary words and numbers.
    static let minimumLength = 4

    private let lock = NSLock()
    private var secrets: [String] = []

    public init() {}

    /// Registers a secret value.
    public func add(_ value: String) {
        guard value.count >= Self.minimumLength else { return }
        lock.lock()
        defer { lock.unlock() }
        if !secrets.contains(value) {
            secrets.append(value)
            // Longest first, so a secret containing another is masked whole.
            secrets.sort { $0.count > $1.count }
        }
    }

    /// Registers the secret-looking values of an environment.
    public func addSecrets(from environment: Environment) {
        for (name, value) in environment.values where !value.isEmpty {
            if Self.isSecretName(name) {
                add(value)
            }
            if let password = Self.urlPassword(in: value) {
                add(password)
                if let decoded = password.removingPercentEncoding { add(decoded) }
            }
        }
    }

    /// Whether a variable or field name says it holds a secret.
    public static func isSecretName(_ name: String) -> Bool {
        let upper = name.uppercased()
        if upper.hasSuffix("_PROVIDER") { return false }  // SECRETS_PROVIDER names a backend, not a secret
        let markers = ["PASSWORD", "PASSWD", "SECRET", "TOKEN", "API_KEY", "APIKEY", "PRIVATE_KEY",
                       "ACCESS_KEY", "CREDENTIAL", "AUTHORIZATION", "SESSION_KEY"]
        if markers.contains(where: upper.contains) { return true }
        return upper.hasSuffix("_KEY") || upper == "KEY"
    }

    /// The password of a `scheme://user:password@host` URL, if the string is one.
    static func urlPassword(in value: String) -> String? {
        guard let schemeEnd = value.range(of: "://") else { return nil }
        let rest = value[schemeEnd.upperBound...]
        guard let at = rest.firstIndex(of: "@") else { return nil }
        let userInfo = rest[..<at]
        guard !userInfo.contains("/"), let colon = userInfo.firstIndex(of: ":") else { return nil }
        let password = userInfo[userInfo.index(after: colon)...]
        return password.isEmpty ? nil : String(password)
    }

    /// `text` with every registered secret replaced by the mask.
    public func redact(_ text: String) -> String {
        lock.lock()
        let current = secrets
        lock.unlock()
        guard !current.isEmpty else { return text }
        var result = text
        for secret in current where result.contains(secret) {
            result = result.replacingOccurrences(of: secret, with: Self.mask)
        }
        return result
    }
}
