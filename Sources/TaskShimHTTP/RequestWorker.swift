import FoundationEssentials
import NIOCore
import NIOHTTP1

/// The task that runs a connection's requests, one after another (a connection runs one at a time).
/// It waits between requests instead of ending: a task per request cost its creation and teardown,
/// four allocations and the runtime's bookkeeping, a tenth of a small request's time in the
/// server's own code. A worker cancelled past a request's deadline finishes that request (504) and
/// ends; the connection starts a new one for the next.
///
/// Confined to the connection's event loop: the connection hands requests over there, and the task
/// runs there (the loop is its executor), so its state needs no lock.
final class RequestWorker: @unchecked Sendable {
    /// One request to run, and the ticket that counts it in flight.
    struct Request: Sendable {
        var head: HTTPRequestHead
        var body: Data
        var remoteAddress: String?
        var deadline: Date
        var ticket: Int
    }

    private let eventLoop: any EventLoop
    private var waiting: UnsafeContinuation<Request?, Never>?
    private var handedOver: Request?
    private var closed = false
    private(set) var task: Task<Void, Never>!

    /// Starts the task; `run` answers each request and says whether the worker goes on: not once its
    /// task is cancelled (past a deadline, or at shutdown), which `run` tells the connection as it
    /// answers, so the connection hands its next request to a new worker.
    init(eventLoop: any EventLoop, executor: EventLoopTaskExecutor, run: nonisolated(nonsending) @escaping @Sendable (Request) async -> Bool) {
        self.eventLoop = eventLoop
        task = Task(executorPreference: executor) {
            while let request = await self.next(), await run(request) {}
        }
    }

    /// Gives the worker its next request.
    func hand(_ request: Request) {
        eventLoop.assertInEventLoop()
        if let waiting {
            self.waiting = nil
            waiting.resume(returning: request)
        } else {
            handedOver = request
        }
    }

    /// No more requests: the worker ends once the one it runs, if any, is answered.
    func close() {
        eventLoop.assertInEventLoop()
        closed = true
        if let waiting {
            self.waiting = nil
            waiting.resume(returning: nil)
        }
    }

    private nonisolated(nonsending) func next() async -> Request? {
        eventLoop.assertInEventLoop()
        if let request = handedOver {
            handedOver = nil
            return request
        }
        if closed { return nil }
        return await withUnsafeContinuation { waiting = $0 }
    }
}
