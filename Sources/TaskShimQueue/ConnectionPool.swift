import Synchronization
import TaskShimCore

/// Idle connections of one server, shared by a queue's concurrent calls: a call takes one (or opens
/// one) and gives it back, so claims, heartbeats and results never share a connection. A connection
/// whose call failed with a temporary error (a lost or timed-out connection) is dropped instead.
final class ConnectionPool<Connection: Sendable>: Sendable {
    private let idle = Mutex<[Connection]>([])
    private let open: @Sendable () async throws -> Connection

    init(open: @escaping @Sendable () async throws -> Connection) {
        self.open = open
    }

    func using<T>(_ body: (Connection) async throws -> T) async throws -> T {
        let connection: Connection
        if let reused = idle.withLock({ $0.popLast() }) {
            connection = reused
        } else {
            connection = try await open()
        }
        do {
            let result = try await body(connection)
            idle.withLock { $0.append(connection) }
            return result
        } catch let error as TaskShimError where error.isRetryable {
            throw error
        } catch {
            idle.withLock { $0.append(connection) }
            throw error
        }
    }
}
