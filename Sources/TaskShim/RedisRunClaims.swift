import FoundationEssentials
import TaskShimClients
import TaskShimCore
import TaskShimSchedule

/// Scheduled runs claimed in Redis (`TASKSHIM_SCHEDULE_URL=redis://...`): a run's key is set once,
/// by the first scheduler (`SET NX`, kept a month); the task's last claimed time and a `forbid`
/// task's lease are keys too, the lease expiring by Redis's clock. Each step is one Lua script, so
/// it is atomic; a task's keys share a hash tag, so the scripts also run on Redis Cluster.
actor RedisRunClaims: RunClaims {
    private let connection: RedisConnection
    let displayName: String

    private init(connection: RedisConnection) {
        self.connection = connection
        displayName = "Redis \(connection.address.display)"
    }

    static func open(url: String, caFile: String?) async throws(TaskShimError) -> RedisRunClaims {
        do {
            let connection = try await RedisConnection.connect(url: url, caFile: caFile)
            _ = try await connection.command(["PING"])
            return RedisRunClaims(connection: connection)
        } catch {
            let wrapped = TaskShimError.wrapping(error)
            throw TaskShimError(wrapped.status, "The schedule's claims store (TASKSHIM_SCHEDULE_URL): \(wrapped.message)", hint: wrapped.hint)
        }
    }

    private static func key(_ task: String, _ suffix: String) -> String { "taskshim:schedule:{\(task)}:\(suffix)" }

    /// Runs `script`; after a failure (a restarted server) once more, on the connection opened again.
    private func eval(_ script: String, keys: [String], _ arguments: [String]) async throws -> RedisReply {
        let command = ["EVAL", script, String(keys.count)] + keys + arguments
        do {
            return try await connection.command(command)
        } catch let error as TaskShimError where error.isRetryable {
            return try await connection.command(command)
        }
    }

    private static let claimScript = """
        if not redis.call('SET', KEYS[1], ARGV[1], 'NX', 'EX', 2678400) then return 0 end
        local last = tonumber(redis.call('GET', KEYS[2]))
        if not last or tonumber(ARGV[2]) > last then redis.call('SET', KEYS[2], ARGV[2]) end
        return 1
        """

    func claim(task: String, logicalTime: Date, scheduler: String) async throws -> Bool {
        let seconds = String(Int64(logicalTime.timeIntervalSince1970))
        let reply = try await eval(Self.claimScript, keys: [Self.key(task, "run:" + seconds), Self.key(task, "last")], [scheduler, seconds])
        return reply.integer == 1
    }

    func lastClaimed(task: String) async throws -> Date? {
        let reply = try await connection.command(["GET", Self.key(task, "last")])
        return reply.string.flatMap(Double.init).map { Date(timeIntervalSince1970: $0) }
    }

    private static let leaseScript = """
        local holder = redis.call('GET', KEYS[1])
        if holder and holder ~= ARGV[1] then return 0 end
        redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
        return 1
        """

    func lease(task: String, holder: String, until expiry: Date, now: Date) async throws -> Bool {
        let milliseconds = max(1, Int64((expiry.timeIntervalSince(now) * 1000).rounded()))
        return try await eval(Self.leaseScript, keys: [Self.key(task, "lease")], [holder, String(milliseconds)]).integer == 1
    }

    private static let releaseScript = """
        if redis.call('GET', KEYS[1]) == ARGV[1] then redis.call('DEL', KEYS[1]) end
        return 1
        """

    func release(task: String, holder: String) async throws {
        _ = try await eval(Self.releaseScript, keys: [Self.key(task, "lease")], [holder])
    }
}
