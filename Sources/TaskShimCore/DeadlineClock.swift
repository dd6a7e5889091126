import Dispatch
import FoundationEssentials

/// Wakes waiting tasks at their deadlines from one thread, so a run with a deadline arms no timer of
/// its own. `Task.sleep` registers and cancels a dispatch timer on every call, which costs two thread
/// wake-ups; a Lambda function pays that on each event. Here the thread sleeps until the earliest
/// deadline and is woken only when an earlier one arrives; with none left it ends.
final class DeadlineClock: Sendable {
    private enum Slot {
        /// Made, not waited on yet.
        case pending
        case waiting(Date, CheckedContinuation<Bool, Never>)
        /// Ended (cancelled) before the wait began: the wait returns false at once.
        case cancelled
    }

    private let lock = Lock()
    private let wake = DispatchSemaphore(value: 0)
    private let queue = DispatchQueue(label: "taskshim.deadlines")
    // Guarded by `lock`.
    nonisolated(unsafe) private var slots: [Int: Slot] = [:]
    nonisolated(unsafe) private var lastID = 0
    /// What the thread sleeps until; nil when it is not running.
    nonisolated(unsafe) private var armed: Date?
    nonisolated(unsafe) private var running = false

    /// Waits until `deadline`: true once it has passed, false when the task was cancelled first.
    func wait(until deadline: Date) async -> Bool {
        await wait(makeTicket(), until: deadline)
    }

    /// A ticket for one wait that ``end(_:)`` can finish early from elsewhere.
    func makeTicket() -> Int {
        lock.withLock {
            lastID += 1
            slots[lastID] = .pending
            return lastID
        }
    }

    /// Waits on `ticket` until `deadline`: true once it has passed, false when the ticket was ended
    /// or the task cancelled first.
    func wait(_ id: Int, until deadline: Date) async -> Bool {
        defer { lock.withLock { _ = slots.removeValue(forKey: id) } }
        return await withTaskCancellationHandler {
            await withCheckedContinuation { continuation in
                enum Action { case resume(Bool), start, signal, none }
                let action: Action = lock.withLock {
                    guard case .pending = slots[id] else { return .resume(false) }
                    if deadline <= Date() { return .resume(true) }
                    slots[id] = .waiting(deadline, continuation)
                    if !running {
                        running = true
                        armed = deadline
                        return .start
                    }
                    if let armed, deadline >= armed { return .none }
                    armed = deadline
                    return .signal
                }
                switch action {
                case .resume(let passed): continuation.resume(returning: passed)
                case .start: queue.async { self.sleepUntilDeadlines() }
                case .signal: wake.signal()
                case .none: break
                }
            }
        } onCancel: {
            end(id)
        }
    }

    /// Ends the wait on `ticket` now (it returns false), or makes it return false at once if it has
    /// not begun; nothing once it is over.
    func end(_ id: Int) {
        let waiting: CheckedContinuation<Bool, Never>? = lock.withLock {
            switch slots[id] {
            case .waiting(_, let continuation):
                slots[id] = nil
                return continuation
            case .pending:
                slots[id] = .cancelled
                return nil
            case .cancelled, nil:
                return nil
            }
        }
        waiting?.resume(returning: false)
    }

    /// The thread: resumes what is due, sleeps until the next deadline, ends when nothing waits.
    private func sleepUntilDeadlines() {
        while true {
            let (due, next): ([CheckedContinuation<Bool, Never>], Date?) = lock.withLock {
                let now = Date()
                var due: [CheckedContinuation<Bool, Never>] = []
                var next: Date?
                for (id, slot) in slots {
                    guard case .waiting(let deadline, let continuation) = slot else { continue }
                    if deadline <= now {
                        due.append(continuation)
                        slots[id] = nil
                    } else if next.map({ deadline < $0 }) ?? true {
                        next = deadline
                    }
                }
                armed = next
                if next == nil { running = false }
                return (due, next)
            }
            for continuation in due { continuation.resume(returning: true) }
            guard let next else { return }
            let seconds = max(0, next.timeIntervalSinceNow)
            _ = wake.wait(timeout: .now() + .nanoseconds(Int(min(seconds, 86_400) * 1e9)))
        }
    }
}
