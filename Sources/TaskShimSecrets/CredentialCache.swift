import FoundationEssentials
import TaskShimCore

/// A credential or access token that stops working at some time (nil: it does not expire).
protocol Expiring: Sendable {
    var expiration: Date? { get }
}

/// One credential shared by every secret a resolution reads from a cloud: loaded once even when many
/// references ask at the same time, loaded again when it is within five minutes of expiring (as the
/// cloud SDKs do) or after the service refused it.
actor CredentialCache<Value: Expiring> {
    typealias Load = @Sendable (_ environment: Environment, _ purpose: String) async throws(TaskShimError) -> Value

    private let environment: Environment
    private let load: Load
    private let margin: TimeInterval
    private var current: Value?
    private var loading: Task<Value, any Error>?

    init(environment: Environment, refreshBefore margin: TimeInterval = 300, load: @escaping Load) {
        self.environment = environment
        self.load = load
        self.margin = margin
    }

    /// The credential; `purpose` starts the error messages ("DATABASE_URL refers to aws-sm://...").
    func value(for purpose: String) async throws(TaskShimError) -> Value {
        if let current, current.expiration.map({ $0.timeIntervalSinceNow > margin }) ?? true { return current }
        let task: Task<Value, any Error>
        if let loading {
            task = loading
        } else {
            let (load, environment) = (load, environment)
            task = Task { try await load(environment, purpose) }
            loading = task
        }
        do {
            let value = try await task.value
            if loading == task { (current, loading) = (value, nil) }
            return value
        } catch {
            if loading == task { loading = nil }
            throw .wrapping(error)
        }
    }

    /// `call` with the credential. When the service refuses it (77) and `mayChange` says a fresh one
    /// could differ (it was fetched, not configured), it is dropped, fetched again, and `call` is
    /// made once more: a rotated or revoked credential does not fail the start.
    func using<T: Sendable>(for purpose: String, mayChange: @Sendable (Value) -> Bool = { _ in true },
                            _ call: @Sendable (Value) async throws(TaskShimError) -> T) async throws(TaskShimError) -> T {
        let used = try await value(for: purpose)
        do {
            return try await call(used)
        } catch where error.status == .noPermission && mayChange(used) {
            current = nil
            return try await call(try await value(for: purpose))
        }
    }
}
