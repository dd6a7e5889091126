import Dispatch
#if canImport(Glibc)
import Glibc
#endif

/// As PID 1 (a container started without an init), orphaned processes are re-parented to us and
/// stay zombies until we wait for them. This reaps every child that exits. The binary itself starts
/// no processes; a handler that does and waits for its own child should run under an init instead
/// (`docker run --init`, ECS `initProcessEnabled`), since a reaper cannot tell whose child exited.
enum ChildReaper {
    nonisolated(unsafe) private static var source: DispatchSourceSignal?

    /// Starts reaping when this process is PID 1; otherwise does nothing.
    static func startIfInit() {
        guard getpid() == 1, source == nil else { return }
        let queue = DispatchQueue(label: "taskshim.reaper")
        let signalSource = DispatchSource.makeSignalSource(signal: SIGCHLD, queue: queue)
        signalSource.setEventHandler(handler: reap)
        signalSource.resume()
        source = signalSource
        queue.async(execute: reap)  // children that exited before the source existed
    }

    private static func reap() {
        var status: Int32 = 0
        while waitpid(-1, &status, WNOHANG) > 0 {}
    }
}
