import NIOCore

/// Runs tasks on a NIO event loop, so a request's handler and the server's reading and writing share
/// one thread: no wake-up of a cooperative-pool thread and back for every request (under load those
/// futex wake-ups were a third of the server's time). Blocking C calls still leave the loop: the
/// clients run them on their own queues.
final class EventLoopTaskExecutor: TaskExecutor, @unchecked Sendable {
    let eventLoop: any EventLoop

    init(_ eventLoop: any EventLoop) {
        self.eventLoop = eventLoop
    }

    func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        eventLoop.execute { job.runSynchronously(on: self.asUnownedTaskExecutor()) }
    }
}
