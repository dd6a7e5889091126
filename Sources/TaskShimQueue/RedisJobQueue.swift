import FoundationEssentials
import Synchronization
import TaskShimClients
import TaskShimCore

/// Jobs in Redis: a hash per job and, per queue, sorted sets for the ready, delayed, running and
/// finished jobs (see ``RedisJobQueue`` scripts for the keys). Every change of a job's state is one
/// Lua script, atomic on the server: a claim pops the ready set and leases the jobs in one step, so
/// two workers never take the same job; results and failures are fenced by worker and attempt like
/// PostgreSQL's. Connections are pooled as in ``SQLJobQueue``.
///
/// Why not Streams with consumer groups: a stream entry cannot be reprioritised, delayed or fenced
/// by attempt, and a unique key needs state beside it anyway; the sets give the same at-least-once
/// leases (XAUTOCLAIM's job is the rescuer's) with the PostgreSQL backend's exact semantics. Failed
/// jobs are also appended to a dead-letter stream per queue, which other tools can follow.
public final class RedisJobQueue: JobQueue {
    private let url: String
    public let displayName: String
    private let pool: ConnectionPool<RedisConnection>
    private let caFile: String?
    /// The connection subscribed to `taskshim:wake`, opened on the first wait.
    private let listener = Mutex<RedisConnection?>(nil)
    /// Script name to SHA1 as Redis reported on SCRIPT LOAD.
    private let loaded = Mutex<[String: String]>([:])

    /// `redis://` or `rediss://` (TLS, the server verified against the system's CAs or `caFile`).
    public init(url: String, caFile: String? = nil) throws(TaskShimError) {
        self.url = url
        self.caFile = caFile
        let address = try RedisConnection.parse(url: url)
        displayName = (address.tls ? "rediss " : "redis ") + address.display
        pool = ConnectionPool { try await RedisConnection.connect(url: url, caFile: caFile) }
    }

    private static let scripts: [String: String] = [
        "enqueue": enqueue, "claim": claim, "complete": complete, "fail": fail, "release": release, "heartbeat": heartbeat,
        "rescue": rescue, "stats": stats, "list": list, "retry": retry, "purge": purge,
    ]

    /// Runs a script by its SHA1, loading it first when this process has not, or when Redis lost it
    /// (a restart empties its script cache: NOSCRIPT).
    private func run(_ name: String, _ arguments: [String]) async throws -> RedisReply {
        try await pool.using { connection in
            for attempt in 0..<2 {
                let sha: String
                if let known = loaded.withLock({ $0[name] }), attempt == 0 {
                    sha = known
                } else {
                    sha = try await load(name, on: connection)
                }
                do {
                    return try await connection.command(["EVALSHA", sha, "0"] + arguments)
                } catch let error as TaskShimError where error.message.contains("NOSCRIPT") && attempt == 0 {
                    continue
                }
            }
            throw TaskShimError(.software, "Redis at \(displayName) lost the queue's \(name) script twice in a row.")
        }
    }

    private func load(_ name: String, on connection: RedisConnection) async throws -> String {
        guard let source = Self.scripts[name] else { throw TaskShimError(.software, "No queue script named \(name).") }
        guard let sha = try await connection.command(["SCRIPT", "LOAD", source]).string else {
            throw TaskShimError(.protocolError, "Redis at \(displayName) answered SCRIPT LOAD without a SHA1.")
        }
        loaded.withLock { $0[name] = sha }
        return sha
    }

    private static func milliseconds(_ duration: Duration) -> String { String(duration.nanoseconds / 1_000_000) }

    /// Loads the scripts (checking the server is there and runs Lua); Redis needs no schema.
    public func migrate() async throws {
        try await pool.using { connection in
            for name in Self.scripts.keys.sorted() { _ = try await load(name, on: connection) }
        }
    }

    public func enqueue(_ jobs: [NewJob]) async throws -> [Int64] {
        guard !jobs.isEmpty else { return [] }
        var arguments: [String] = []
        arguments.reserveCapacity(jobs.count * 9)
        for job in jobs {
            guard (-2000...2000).contains(job.priority) else {
                throw TaskShimError.usage("A Redis queue takes priorities from -2000 to 2000, not \(job.priority).")
            }
            arguments += [job.queue, job.type, String(decoding: job.payload, as: UTF8.self), String(job.maxAttempts),
                          String(job.retryDelaySeconds), String(job.priority), job.uniqueKey ?? "", String(Int64(job.delaySeconds) * 1000),
                          job.backoff.rawValue]
        }
        return try await run("enqueue", arguments).array?.compactMap { $0.integer }.filter { $0 > 0 } ?? []
    }

    public func claim(queues: [String], worker: String, limit: Int, lease: Duration) async throws -> [Job] {
        // At most 1,000 a script: Lua unpacks at most about 8,000 values, and a failing script keeps what it already did.
        try await claimInOrder(queues: queues, limit: min(limit, 1000)) { queue, limit in
            let fields = try await run("claim", [queue, worker, String(limit), Self.milliseconds(lease)]).array?.map { $0.string ?? "" } ?? []
            var jobs: [Job] = []
            var index = 0
            while index + 5 < fields.count {
                if let id = Int64(fields[index]) {
                    jobs.append(Job(id: id, queue: queue, type: fields[index + 1], payload: Data(fields[index + 2].utf8),
                                    attempt: Int(fields[index + 3]) ?? 1, maxAttempts: Int(fields[index + 4]) ?? 1,
                                    retryDelaySeconds: Int(fields[index + 5]) ?? 30))
                }
                index += 6
            }
            return jobs
        }
    }

    public func complete(_ results: [(job: Job, result: Data)], worker: String) async throws -> Set<Int64> {
        guard !results.isEmpty else { return [] }
        var arguments = [worker]
        arguments.reserveCapacity(1 + results.count * 3)
        for entry in results {
            arguments += [String(entry.job.id), String(entry.job.attempt), String(decoding: entry.result, as: UTF8.self)]
        }
        let reply = try await run("complete", arguments)
        return Set(reply.array?.compactMap { $0.string.flatMap { Int64($0) } ?? $0.integer } ?? [])
    }

    public func fail(_ job: Job, worker: String, error: String, retryable: Bool) async throws -> JobFate {
        let reply = try await run("fail", [String(job.id), worker, String(job.attempt), error, retryable ? "1" : "0"])
        switch reply.string {
        case "retry": return .retry
        case "failed": return .failed
        default: return .ignored
        }
    }

    public func release(_ job: Job, worker: String) async throws {
        _ = try await run("release", [String(job.id), worker, String(job.attempt)])
    }

    public func heartbeat(_ jobs: [Int64], worker: String, lease: Duration) async throws {
        guard !jobs.isEmpty else { return }
        _ = try await run("heartbeat", [worker, Self.milliseconds(lease)] + jobs.map(String.init))
    }

    public func rescue(queues: [String], lease: Duration) async throws -> Int {
        Int(try await run("rescue", queues).integer ?? 0)
    }

    public func stats(queue: String?) async throws -> QueueStats {
        let fields = try await run("stats", [queue ?? ""]).array?.map { $0.string ?? "" } ?? []
        var stats = QueueStats()
        var index = 0
        while index + 1 < fields.count {
            if let status = JobStatus(rawValue: fields[index]) { stats[status] = Int(fields[index + 1]) ?? 0 }
            index += 2
        }
        return stats
    }

    public func waitForJobs(queues: [String], timeout: Duration) async throws -> Bool? {
        let connection: RedisConnection
        if let open = listener.withLock({ $0 }) {
            connection = open
        } else {
            connection = try await RedisConnection.connect(url: url, caFile: caFile)
            _ = try await connection.command(["SUBSCRIBE", "taskshim:wake"])
            listener.withLock { $0 = connection }
        }
        do {
            // A message is ["message", channel, queue name].
            guard let message = try await connection.receive(timeout: timeout)?.array, message.count == 3 else { return false }
            return message[2].string.map(queues.contains) ?? false
        } catch {
            listener.withLock { $0 = nil }
            throw error
        }
    }

    // MARK: Operations

    public func job(_ id: Int64) async throws -> JobRecord? {
        let reply = try await pool.using { try await $0.command(["HGETALL", "taskshim:job:\(id)"]) }
        return Self.record(id, reply)
    }

    public func list(queue: String?, status: JobStatus?, limit: Int) async throws -> [JobRecord] {
        let entries = try await run("list", [queue ?? "", status?.rawValue ?? "", String(limit)]).array ?? []
        return entries.compactMap { entry in
            guard let pair = entry.array, pair.count == 2, let id = pair[0].string.flatMap({ Int64($0) }) else { return nil }
            return Self.record(id, pair[1])
        }
    }

    /// A job from its hash's `HGETALL` reply; nil when the hash is gone or incomplete.
    private static func record(_ id: Int64, _ reply: RedisReply) -> JobRecord? {
        let fields = reply.array?.map { $0.string ?? "" } ?? []
        var hash: [String: String] = [:]
        var index = 0
        while index + 1 < fields.count {
            hash[fields[index]] = fields[index + 1]
            index += 2
        }
        guard let queue = hash["queue"], let type = hash["type"], let status = hash["status"].flatMap(JobStatus.init(rawValue:)) else {
            return nil
        }
        func date(_ field: String) -> Date? { hash[field].flatMap(Double.init).map { Date(timeIntervalSince1970: $0 / 1000) } }
        return JobRecord(id: id, queue: queue, type: type, status: status, payload: Data((hash["payload"] ?? "{}").utf8),
                         result: hash["result"].map { Data($0.utf8) }, error: hash["error"], attempt: hash["attempt"].flatMap { Int($0) } ?? 0,
                         maxAttempts: hash["max"].flatMap { Int($0) } ?? 0, priority: hash["priority"].flatMap { Int($0) } ?? 0,
                         uniqueKey: hash["unique"], workerID: hash["worker"], createdAt: date("created"), availableAt: date("available"),
                         startedAt: date("started"), finishedAt: date("finished"))
    }

    public func retry(id: Int64?, queue: String?) async throws -> Int {
        Int(try await run("retry", [id.map(String.init) ?? "", queue ?? ""]).integer ?? 0)
    }

    public func purge(queue: String?, status: JobStatus?, before: Date) async throws -> Int {
        if let status, !status.isFinished { throw TaskShimError.usage("Only completed and failed jobs can be purged, not \(status.rawValue) ones.") }
        let before = String(Int64(before.timeIntervalSince1970 * 1000))
        var total = 0
        while true {
            let deleted = Int(try await run("purge", [queue ?? "", status?.rawValue ?? "", before]).integer ?? 0)
            total += deleted
            if deleted < 1000 { return total }
        }
    }
}
