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
    /// Counts credentials dropped after a refusal, so concurrent refusals drop one credential once.
    private var generation = 0

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
            // Cancelled (the resolution's time limit): stop waiting, and stop the fetch too.
            let value = try await withTaskCancellationHandler { try await task.value } onCancel: { task.cancel() }
            if loading == task { (current, loading) = (value, nil) }
            return value
        } catch {
            if loading == task { loading = nil }
            throw .wrapping(error)
        }
    }

    /// `call` with the credential. When the service refuses it (77), `isStale` says the refusal is about
    /// the credential (not a missing permission) and `mayChange` says a fresh one could differ (it was
    /// fetched, not configured), it is dropped, fetched again, and `call` is made once more: a rotated
    /// or revoked credential does not fail the start. Concurrent refusals of the same credential fetch
    /// one new one.
    func using<T: Sendable>(for purpose: String, mayChange: @Sendable (Value) -> Bool = { _ in true },
                            isStale: @Sendable (TaskShimError) -> Bool,
                            _ call: @Sendable (Value) async throws(TaskShimError) -> T) async throws(TaskShimError) -> T {
        let generation = self.generation
        let used = try await value(for: purpose)
        do {
            return try await call(used)
        } catch where error.status == .noPermission && isStale(error) && mayChange(used) {
            if self.generation == generation, loading == nil {
                current = nil
                self.generation += 1
            }
            return try await call(try await value(for: purpose))
        }
    }
}
