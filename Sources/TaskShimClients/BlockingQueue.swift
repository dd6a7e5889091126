import Dispatch

/// A serial dispatch queue for one C handle's blocking calls, so they run on dispatch's worker threads
/// and never occupy the cooperative thread pool. Calls run one at a time, in order, as a C connection
/// requires.
///
/// It is also a task executor: a task that prefers it (`withTaskExecutorPreference`) runs on the same
/// thread, and its blocking calls then run inline, with no hop between threads. The Lambda loop runs
/// so, because each hop costs a thread wake-up on every invocation.
final class BlockingQueue: TaskExecutor, Sendable {
    private let queue: DispatchQueue
    private static let owner = DispatchSpecificKey<ObjectIdentifier>()

    init(label: String) {
        queue = DispatchQueue(label: label)
        queue.setSpecific(key: Self.owner, value: ObjectIdentifier(self))
    }

    /// Whether the caller is already on this queue.
    private var isCurrent: Bool {
        DispatchQueue.getSpecific(key: Self.owner) == ObjectIdentifier(self)
    }

    func run<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        if isCurrent { return try body() }
        return try await withCheckedThrowingContinuation { continuation in
            queue.async {
                continuation.resume(with: Result { try body() })
            }
        }
    }

    func sync<T>(_ body: () throws -> T) rethrows -> T {
        if isCurrent { return try body() }
        return try queue.sync(execute: body)
    }

    func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        queue.async { job.runSynchronously(on: self.asUnownedTaskExecutor()) }
    }
}
