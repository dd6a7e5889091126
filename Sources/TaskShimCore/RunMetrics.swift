import Synchronization

/// Counters a handler fills in during a run (rows read, records sent, batches, rejects); the run
/// summary line carries them.
public final class RunMetrics: Sendable {
    /// Held inline: one object per run, not two.
    private let counters = Mutex<[String: Int]>([:])

    public init() {}

    public func add(_ name: String, _ amount: Int = 1) {
        counters.withLock { $0[name, default: 0] += amount }
    }

    public func set(_ name: String, _ value: Int) {
        counters.withLock { $0[name] = value }
    }

    public subscript(_ name: String) -> Int {
        counters.withLock { $0[name] ?? 0 }
    }

    public var snapshot: [String: Int] {
        counters.withLock { $0 }
    }
}
