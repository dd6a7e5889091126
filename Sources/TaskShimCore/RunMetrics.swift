import Foundation

/// Counters a handler fills in during a run (rows read, records sent, batches, rejects); the run
/// summary line carries them.
public final class RunMetrics: @unchecked Sendable {
    private let lock = NSLock()
    private var counters: [String: Int] = [:]

    public init() {}

    public func add(_ name: String, _ amount: Int = 1) {
        lock.lock()
        counters[name, default: 0] += amount
        lock.unlock()
    }

    public func set(_ name: String, _ value: Int) {
        lock.lock()
        counters[name] = value
        lock.unlock()
    }

    public subscript(_ name: String) -> Int {
        lock.lock()
        defer { lock.unlock() }
        return counters[name] ?? 0
    }

    public var snapshot: [String: Int] {
        lock.lock()
        defer { lock.unlock() }
        return counters
    }
}
