import Synchronization

/// Message ids seen recently, so a redelivery of a message that was already handled is acknowledged
/// without running the handler again (Pub/Sub delivers at least once). Bounded: the oldest ids are
/// forgotten first.
final class RecentDeliveries: Sendable {
    enum Status: Equatable {
        /// Not seen: run it.
        case new
        /// Handled and acknowledged before.
        case done
        /// Another copy is running now.
        case running
    }

    private struct State {
        var done: Set<String> = []
        var order: [String] = []
        var oldest = 0
        var running: Set<String> = []
    }

    private let state = Mutex(State())
    let capacity: Int

    init(capacity: Int = 10_000) {
        self.capacity = capacity
    }

    /// Whether to run the message; a `.new` one is marked running until ``finish(_:acknowledged:)``.
    func begin(_ id: String) -> Status {
        state.withLock { state in
            if state.done.contains(id) { return .done }
            if !state.running.insert(id).inserted { return .running }
            return .new
        }
    }

    /// Ends a run; an acknowledged message is remembered, one that will be redelivered is not.
    func finish(_ id: String, acknowledged: Bool) {
        state.withLock { state in
            state.running.remove(id)
            guard acknowledged, state.done.insert(id).inserted else { return }
            state.order.append(id)
            if state.order.count - state.oldest > capacity {
                state.done.remove(state.order[state.oldest])
                state.oldest += 1
                // Compact now and then instead of shifting the array on every eviction.
                if state.oldest > capacity {
                    state.order.removeFirst(state.oldest)
                    state.oldest = 0
                }
            }
        }
    }
}
