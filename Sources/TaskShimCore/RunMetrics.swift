/// Counters a handler fills in during a run (rows read, records sent, batches, rejects); the run
/// summary line carries them.
public final class RunMetrics: Sendable {
    private let lock = Lock()
    nonisolated(unsafe) private var counters: [String: Int] = [:]

    public init() {}

    public func add(_ name: String, _ amount: Int = 1) {
        lock.withLock { counters[name, default: 0] += amount }
    }

    public func set(_ name: String, _ value: Int) {
        lock.withLock { counters[name] = value }
    }

    public subscript(_ name: String) -> Int {
        lock.withLock { counters[name] ?? 0 }
    }

    public var snapshot: [String: Int] {
        lock.withLock { counters }
    }
}
