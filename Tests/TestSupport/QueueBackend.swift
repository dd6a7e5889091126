import Testing
import Foundation
import TaskShimQueue

/// The queue backends a behaviour is checked on, against the local servers of scripts/test.
public enum QueueBackend: String, CaseIterable, CustomTestStringConvertible, Sendable {
    case postgres, redis, sqlite

    /// The SQLite file this test process's queue tests share (each test uses queue names of its own).
    static let sqliteFile = NSTemporaryDirectory() + "taskshim-test-queue-\(getpid()).db"

    public var testDescription: String { rawValue }

    /// The server's URL.
    public func url() throws -> String {
        switch self {
        case .postgres: try TestServers.postgresURL()
        case .redis: try TestServers.redisURL()
        case .sqlite: "sqlite:" + Self.sqliteFile
        }
    }

    /// A fresh client with connections of its own, of the shared server or of the one at `url`.
    public func open(url other: String? = nil) async throws -> any JobQueue {
        let address = try other ?? url()
        let queue: any JobQueue = switch self {
        case .postgres: try SQLJobQueue.postgres(url: address)
        case .redis: try RedisJobQueue(url: address)
        case .sqlite: SQLJobQueue.sqlite(path: String(address.dropFirst("sqlite:".count)))
        }
        try await queue.migrate()
        return queue
    }

    /// One job as the queue keeps it.
    public func job(_ id: String) async throws -> JobRecord {
        let number = try #require(Int64(id.trimmingCharacters(in: .whitespacesAndNewlines)), "not a job id: \(id)")
        return try #require(try await open().job(number), "no job \(id)")
    }
}
