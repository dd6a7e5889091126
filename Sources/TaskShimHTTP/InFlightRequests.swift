import Synchronization

/// The requests a ``FunctionServer`` is running: admission under the concurrency limit, cancellation
/// of what is left after the drain budget, and the wait for shutdown.
final class InFlightRequests: Sendable {
    private struct State {
        /// Every admitted request, with its task once attached (a task may finish before it is).
        var running: [Int: Task<Void, Never>?] = [:]
        var lastID = 0
        var draining = false
        var stopRequested = false
        var stopWaiter: CheckedContinuation<Void, Never>?
    }

    private let state = Mutex(State())

    enum Admission {
        case admitted(Int)
        /// `limit` requests are running already.
        case saturated
        /// The server is shutting down.
        case draining
    }

    /// A ticket for a new request, unless `limit` are already running or the server is draining.
    func admit(limit: Int) -> Admission {
        state.withLock { state in
            if state.draining { return .draining }
            guard state.running.count < limit else { return .saturated }
            state.lastID += 1
            state.running[state.lastID] = .some(nil)
            return .admitted(state.lastID)
        }
    }

    /// Remembers the task serving `id`, to cancel it if the drain budget runs out.
    func attach(_ id: Int, _ task: Task<Void, Never>) {
        state.withLock { state in
            if state.running[id] != nil { state.running[id] = task }
        }
    }

    func finish(_ id: Int) {
        _ = state.withLock { $0.running.removeValue(forKey: id) }
    }

    var count: Int { state.withLock { $0.running.count } }

    /// Whether the server is shutting down (health probes then answer 503).
    var isDraining: Bool { state.withLock { $0.draining } }

    /// Returns once ``cancelWaiting()`` has been called (the server's task was cancelled).
    func waitForCancellation() async {
        await withCheckedContinuation { continuation in
            let stop = state.withLock { state in
                if state.stopRequested { return true }
                state.stopWaiter = continuation
                return false
            }
            if stop { continuation.resume() }
        }
    }

    func cancelWaiting() {
        let waiter = state.withLock { state in
            state.stopRequested = true
            state.draining = true
            defer { state.stopWaiter = nil }
            return state.stopWaiter
        }
        waiter?.resume()
    }

    /// Waits up to `budget` for the running requests to finish; how many are still running.
    func drain(within budget: Duration) async -> Int {
        let clock = ContinuousClock()
        let end = clock.now + budget
        while count > 0 && clock.now < end {
            try? await clock.sleep(for: .milliseconds(20))
        }
        return count
    }

    func cancelAll() {
        for task in state.withLock({ $0.running.values.compactMap { $0 } }) { task.cancel() }
    }
}
