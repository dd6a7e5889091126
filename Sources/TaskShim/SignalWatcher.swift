import Dispatch
import TaskShimCore
#if canImport(Glibc)
import Glibc
#endif

/// Turns SIGTERM and SIGINT into a callback instead of an immediate death, so a run can be cancelled
/// cooperatively: the database is told to cancel its statement and the summary line is still written.
///
/// The signals' dispositions are set explicitly, because a process can inherit them ignored.
final class SignalWatcher: @unchecked Sendable {
    private var sources: [DispatchSourceSignal] = []
    private let queue = DispatchQueue(label: "taskshim.signals")

    init(signals: [Int32] = [SIGTERM, SIGINT], handler: @escaping @Sendable (Int32) -> Void) {
        for number in signals {
            signal(number, SIG_IGN)  // delivered to the dispatch source instead of the default action
            let source = DispatchSource.makeSignalSource(signal: number, queue: queue)
            source.setEventHandler { handler(number) }
            source.resume()
            sources.append(source)
        }
    }

    /// Stops watching and restores the default actions.
    func cancel() {
        for source in sources {
            source.cancel()
            signal(Int32(source.handle), SIG_DFL)
        }
        sources.removeAll()
    }

    static func name(_ number: Int32) -> String {
        switch number {
        case SIGTERM: "SIGTERM"
        case SIGINT: "SIGINT"
        default: "signal \(number)"
        }
    }
}

extension SignalWatcher {
    /// Runs `body` in a task that SIGTERM or SIGINT cancels, and returns its result with the signal
    /// that cancelled it, if one did.
    static func cancelling<T: Sendable>(_ body: @escaping @Sendable () async -> T) async -> (value: T, signal: Int32?) {
        let task = Task { await body() }
        let received = ReceivedSignal()
        let watcher = SignalWatcher { number in
            received.set(number)
            task.cancel()
        }
        let value = await task.value
        watcher.cancel()
        return (value, received.value)
    }
}

/// The signal that stopped a run, if any.
final class ReceivedSignal: Sendable {
    private let lock = Lock()
    nonisolated(unsafe) private var number: Int32?

    func set(_ value: Int32) { lock.withLock { if number == nil { number = value } } }
    var value: Int32? { lock.withLock { number } }
}
