import Synchronization

/// A mutual-exclusion lock for the few places that guard shared state from any thread.
public final class Lock: Sendable {
    private let mutex = Mutex(())

    public init() {}

    public func withLock<T>(_ body: () throws -> T) rethrows -> T {
        try mutex.withLock { _ in try body() }
    }
}
