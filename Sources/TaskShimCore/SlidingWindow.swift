/// The recent calls a ``CircuitBreaker`` judges by: the last N calls (a ring), or the calls of the
/// last N seconds (one bucket per second), with their failed and slow counts.
struct SlidingWindow: Sendable {
    private struct Bucket: Sendable {
        /// The second (count windows: the slot's call) this bucket holds; -1 when empty.
        var key: Int64 = -1
        var calls = 0
        var failures = 0
        var slow = 0
    }

    private let window: CircuitBreaker.Configuration.Window
    private var buckets: [Bucket]
    private var next = 0

    init(_ window: CircuitBreaker.Configuration.Window) {
        self.window = window
        switch window {
        case .count(let size): buckets = Array(repeating: Bucket(), count: max(1, size))
        case .time(let seconds): buckets = Array(repeating: Bucket(), count: max(1, seconds))
        }
    }

    mutating func add(failed: Bool, slow: Bool, at time: Duration) {
        let index: Int
        switch window {
        case .count:
            index = next
            next = (next + 1) % buckets.count
            buckets[index] = Bucket(key: 0)
        case .time:
            let second = time.components.seconds
            index = Int(second % Int64(buckets.count))
            if buckets[index].key != second { buckets[index] = Bucket(key: second) }
        }
        buckets[index].calls += 1
        if failed { buckets[index].failures += 1 }
        if slow { buckets[index].slow += 1 }
    }

    /// Calls, failures and slow calls in the window at `time`.
    func totals(at time: Duration) -> (calls: Int, failures: Int, slow: Int) {
        var totals = (calls: 0, failures: 0, slow: 0)
        let oldest: Int64
        switch window {
        case .count: oldest = Int64.min
        case .time: oldest = time.components.seconds - Int64(buckets.count) + 1
        }
        for bucket in buckets where bucket.key >= 0 && bucket.key >= oldest {
            totals.calls += bucket.calls
            totals.failures += bucket.failures
            totals.slow += bucket.slow
        }
        return totals
    }

    mutating func reset() {
        for index in buckets.indices { buckets[index] = Bucket() }
        next = 0
    }
}
