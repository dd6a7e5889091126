import Dispatch
import FoundationEssentials
import TaskShimCore

/// A request body written while it is being sent. The producer calls ``write(_:)`` and then
/// ``finish(trailers:)``; the sender, on its own thread, waits for each part.
///
/// At most `limit` bytes wait to be sent: past that, ``write(_:)`` waits until the sender catches up,
/// so a producer faster than the network (Lambda slows a streamed response to 2 MB/s after its first
/// 6 MB) does not hold its whole output in memory. Once the request has failed, ``write(_:)`` throws.
public final class StreamingBody: Sendable {
    public let limit: Int
    private let lock = Lock()
    private let available = DispatchSemaphore(value: 0)
    // Guarded by `lock`.
    nonisolated(unsafe) private var parts: [Data] = []
    nonisolated(unsafe) private var buffered = 0
    nonisolated(unsafe) private var finished = false
    nonisolated(unsafe) private var failure: (any Error)?
    nonisolated(unsafe) private var waitingWriters: [CheckedContinuation<Void, any Error>] = []
    nonisolated(unsafe) private var trailerLines: [String] = []

    public init(limit: Int = 1 << 20) {
        self.limit = limit
    }

    /// Queues `data` for sending, waiting while more than `limit` bytes are queued. Throws the
    /// request's error once it has failed.
    public func write(_ data: Data) async throws {
        guard !data.isEmpty else { return }
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
            let outcome: Result<Void, any Error>? = lock.withLock {
                if let failure { return .failure(failure) }
                if finished { return .success(()) }
                parts.append(data)
                buffered += data.count
                if buffered <= limit { return .success(()) }
                waitingWriters.append(continuation)
                return nil
            }
            available.signal()
            if let outcome { continuation.resume(with: outcome) }
        }
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

    /// The request failed or was cancelled: the sender stops waiting, and writes throw `error`.
    func abandon(_ error: any Error) {
        let writers = lock.withLock {
            if failure == nil { failure = error }
            finished = true
            parts.removeAll()
            buffered = 0
            defer { waitingWriters.removeAll() }
            return waitingWriters
        }
        available.signal()
        for writer in writers { writer.resume(throwing: error) }
    }

    /// The next part, waiting for the producer; nil once the body is finished and every part taken.
    func nextPart() -> Data? {
        while true {
            let (next, writers): (Data??, [CheckedContinuation<Void, any Error>]) = lock.withLock {
                if !parts.isEmpty {
                    let part = parts.removeFirst()
                    buffered -= part.count
                    var released: [CheckedContinuation<Void, any Error>] = []
                    if buffered <= limit {
                        released = waitingWriters
                        waitingWriters.removeAll()
                    }
                    return (.some(part), released)
                }
                return (finished ? .some(nil) : nil, [])
            }
            for writer in writers { writer.resume() }
            if let next { return next }
            available.wait()
        }
    }

    /// `Name: value` lines to send after the last chunk.
    var trailers: [String] { lock.withLock { trailerLines } }
}
