import Dispatch
import FoundationEssentials
import TaskShimCore

/// A request body written while it is being sent. The producer calls ``write(_:)`` and then
/// ``finish(trailers:)``; the sender, on its own thread, waits for each part.
public final class StreamingBody: Sendable {
    private let lock = Lock()
    private let available = DispatchSemaphore(value: 0)
    // Guarded by `lock`.
    nonisolated(unsafe) private var parts: [Data] = []
    nonisolated(unsafe) private var finished = false
    nonisolated(unsafe) private var trailerLines: [String] = []

    public init() {}

    /// Queues `data` for sending. Never blocks.
    public func write(_ data: Data) {
        guard !data.isEmpty else { return }
        lock.withLock { if !finished { parts.append(data) } }
        available.signal()
    }

    /// Ends the body; `trailers` follow the last chunk. Later calls do nothing.
    public func finish(trailers: [(String, String)]) {
        lock.withLock {
            guard !finished else { return }
            finished = true
            trailerLines = trailers.map { "\($0.0): \($0.1)" }
        }
        available.signal()
    }

    /// The next part, waiting for the producer; nil once the body is finished and every part taken.
    func nextPart() -> Data? {
        while true {
            let next: Data?? = lock.withLock {
                if !parts.isEmpty { return .some(parts.removeFirst()) }
                return finished ? .some(nil) : nil
            }
            if let next { return next }
            available.wait()
        }
    }

    /// `Name: value` lines to send after the last chunk.
    var trailers: [String] { lock.withLock { trailerLines } }
}
