import Synchronization

/// Jobs a worker has claimed and not yet started. The worker's slots take from it without
/// suspending while it holds jobs (no task or thread hop per job); the claim loop refills it when it
/// runs low.
final class JobBuffer: Sendable {
    private struct State {
        var jobs: [Job] = []
        var head = 0
        var closed = false
        var takers: [(id: Int, continuation: CheckedContinuation<Job?, Never>)] = []
        var nextTaker = 0
        var low: (atMost: Int, continuation: CheckedContinuation<Void, Never>)?
    }
    private let state = Mutex(State())

    var count: Int { state.withLock { $0.jobs.count - $0.head } }

    /// Adds claimed jobs, handing them to waiting slots first.
    func put(_ jobs: [Job]) {
        guard !jobs.isEmpty else { return }
        var handed: [(CheckedContinuation<Job?, Never>, Job)] = []
        state.withLock { state in
            var rest = jobs[...]
            while !state.takers.isEmpty, let job = rest.popFirst() { handed.append((state.takers.removeFirst().continuation, job)) }
            state.jobs += rest
        }
        for (continuation, job) in handed { continuation.resume(returning: job) }
    }

    /// The next job; suspends while there is none; nil once closed (or the task is cancelled).
    func take() async -> Job? {
        if Task.isCancelled { return nil }
        let id = state.withLock { state -> Int in
            state.nextTaker += 1
            return state.nextTaker
        }
        return await withTaskCancellationHandler {
            await withCheckedContinuation { continuation in
                let (ready, low): (Job??, CheckedContinuation<Void, Never>?) = state.withLock { state in
                    if state.head < state.jobs.count {
                        let job = state.jobs[state.head]
                        state.head += 1
                        if state.head > 256 && state.head * 2 > state.jobs.count {
                            state.jobs.removeFirst(state.head)
                            state.head = 0
                        }
                        var low: CheckedContinuation<Void, Never>?
                        if let waiter = state.low, state.jobs.count - state.head <= waiter.atMost {
                            low = waiter.continuation
                            state.low = nil
                        }
                        return (.some(job), low)
                    }
                    if state.closed || Task.isCancelled { return (.some(nil), nil) }
                    state.takers.append((id: id, continuation: continuation))
                    var low: CheckedContinuation<Void, Never>?
                    if let waiter = state.low {
                        low = waiter.continuation
                        state.low = nil
                    }
                    return (nil, low)
                }
                low?.resume()
                if let ready { continuation.resume(returning: ready) }
            }
        } onCancel: {
            let taker = state.withLock { state -> CheckedContinuation<Job?, Never>? in
                guard let index = state.takers.firstIndex(where: { $0.id == id }) else { return nil }
                return state.takers.remove(at: index).continuation
            }
            taker?.resume(returning: nil)
        }
    }

    /// Returns once at most `atMost` jobs wait (at once if so already), or when closed or cancelled.
    func waitUntilLow(atMost: Int) async {
        await withTaskCancellationHandler {
            await withCheckedContinuation { continuation in
                let now = state.withLock { state -> Bool in
                    if state.closed || Task.isCancelled || state.jobs.count - state.head <= atMost { return true }
                    state.low = (atMost, continuation)
                    return false
                }
                if now { continuation.resume() }
            }
        } onCancel: {
            let low = state.withLock { state -> CheckedContinuation<Void, Never>? in
                defer { state.low = nil }
                return state.low?.continuation
            }
            low?.resume()
        }
    }

    /// No more jobs will come: waiting slots get nil; the jobs never started are returned (to release).
    func close() -> [Job] {
        let (left, takers, low) = state.withLock { state in
            state.closed = true
            let left = Array(state.jobs[state.head...])
            state.jobs = []
            state.head = 0
            defer {
                state.takers = []
                state.low = nil
            }
            return (left, state.takers.map(\.continuation), state.low?.continuation)
        }
        for taker in takers { taker.resume(returning: nil) }
        low?.resume()
        return left
    }

    /// Closes once the jobs already in it are taken (`--once`, `--max-jobs`): slots then get nil.
    func finish() {
        let takers = state.withLock { state -> [CheckedContinuation<Job?, Never>] in
            state.closed = true
            defer { state.takers = [] }
            return state.head < state.jobs.count ? [] : state.takers.map(\.continuation)
        }
        for taker in takers { taker.resume(returning: nil) }
    }
}
