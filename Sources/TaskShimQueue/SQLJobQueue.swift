import FoundationEssentials
import Synchronization
import TaskShimClients
import TaskShimCore

/// Jobs in a SQL table, `taskshim_jobs`, on PostgreSQL (``postgres(url:)``) or in a SQLite file
/// (``sqlite(path:)``): the same columns and the same steps, each one statement whose values are
/// bound parameters (batches as one JSON array parameter); the dialect supplies the SQL. A claim
/// takes the ready rows no other claim holds (PostgreSQL: `FOR UPDATE SKIP LOCKED`; SQLite: one
/// statement under the database's write lock) and leases them; results and failures are fenced by
/// worker and attempt. Connections are pooled: concurrent calls never share one.
public final class SQLJobQueue: JobQueue {
    /// The SQL of one database: the statements' text, and how it binds what differs.
    struct Dialect: Sendable {
        var migrate: @Sendable (any SQLDatabase) async throws -> Void
        /// `:batch` (``SQLJobQueue/batch(_:)``) → job_id rows.
        var enqueue: String
        /// `:worker`, `:lease` (seconds), `:queue`, `:limit` → id, queue, type, payload, attempt, max attempts, retry delay, priority.
        var claim: String
        /// `:batch` (``SQLJobQueue/results(_:)``), `:worker` → job_id rows.
        var complete: String
        /// `:retryable`, `:error`, `:id`, `:worker`, `:attempt` → the new status.
        var fail: String
        /// `:id`, `:worker`, `:attempt`.
        var release: String
        /// `:ids` (a JSON array), `:worker`, `:lease`.
        var heartbeat: String
        /// `:queues` (a JSON array), `:lease` (seconds) → job_id rows.
        var rescue: String
        /// `:queue` or null → status, count.
        var stats: String
        /// `:id` → a record row.
        var job: String
        /// `:queue`, `:status` (or null), `:limit` → record rows, the newest first.
        var list: String
        /// `:id`, `:queue` (or null) → job_id rows.
        var retry: String
        /// `:queue`, `:status` (or null), `:before` (seconds since the epoch) → job_id rows.
        var purge: String
        var boolean: @Sendable (Bool) -> SQLValue
        /// Extra parameters every statement gets (SQLite's `:now`, from this host's clock).
        var common: @Sendable () -> [String: SQLValue]
        /// A table of the Ragonometrics workers' shape: no priority, unique key nor backoff column.
        var compatible = false
        /// Readies a connection for ``notifications`` (PostgreSQL: `LISTEN`); nil when the database has none.
        var listen: (@Sendable (any SQLDatabase) async throws -> Void)?
        /// Payloads (queue names) notified within the time given.
        var notifications: (@Sendable (any SQLDatabase, Duration) async throws -> [String])?
    }

    /// The channel enqueues, releases, rescues and retries notify, with the queue name as the payload.
    static let channel = "taskshim_jobs"

    public let displayName: String
    private let dialect: Dialect
    private let pool: ConnectionPool<any SQLDatabase>
    private let open: @Sendable () async throws -> any SQLDatabase
    /// The connection that listens for notifications, opened on the first wait.
    private let listener = Mutex<(any SQLDatabase)?>(nil)

    init(displayName: String, dialect: Dialect, open: @escaping @Sendable () async throws -> any SQLDatabase) {
        self.displayName = displayName
        self.dialect = dialect
        self.open = open
        pool = ConnectionPool(open: open)
    }

    private func rows(_ sql: String, _ parameters: [String: SQLValue]) async throws -> [SQLRow] {
        let all = parameters.merging(dialect.common()) { mine, _ in mine }
        return try await pool.using { try await $0.all(sql, parameters: all) }
    }

    private static func ids(_ rows: [SQLRow]) -> [Int64] { rows.compactMap { $0[0].flatMap { Int64($0) } } }

    private static func optional(_ text: String?) -> SQLValue { text.map { .text($0) } ?? .null }

    public func migrate() async throws {
        let migrate = dialect.migrate
        try await pool.using { try await migrate($0) }
    }

    public func enqueue(_ jobs: [NewJob]) async throws -> [Int64] {
        guard !jobs.isEmpty else { return [] }
        if dialect.compatible, let job = jobs.first(where: { $0.priority != 0 || $0.uniqueKey != nil || $0.backoff != .linear }) {
            let option = job.uniqueKey != nil ? "--unique-key" : job.priority != 0 ? "--priority" : "--backoff exponential"
            throw TaskShimError.usage("The table \(displayName) has no column for \(option) (the Ragonometrics workers' shape).",
                                      hint: "Leave it out, or use the taskshim_jobs table (unset TASKSHIM_QUEUE_TABLE).")
        }
        return Self.ids(try await rows(dialect.enqueue, ["batch": .text(Self.batch(jobs))])).sorted()
    }

    /// Queues are taken in the order given, each with an equality on `queue_name`, so the claim walks
    /// the ready index in order instead of sorting every waiting job (on PostgreSQL an `= ANY(...)`
    /// made each claim a sequential scan: 5 ms with 6,000 jobs waiting).
    public func claim(queues: [String], worker: String, limit: Int, lease: Duration) async throws -> [Job] {
        try await claimInOrder(queues: queues, limit: limit) { queue, limit in
            // RETURNING comes in no particular order: by priority (the 8th column), then the oldest.
            let rows = try await rows(dialect.claim, ["worker": .text(worker), "lease": .double(lease.seconds), "queue": .text(queue),
                                                      "limit": .integer(Int64(limit))])
            var claimed: [(job: Job, priority: Int)] = []
            for row in rows {
                guard let job = Self.job(row) else { continue }
                claimed.append((job, row[7].flatMap { Int($0) } ?? 0))
            }
            claimed.sort { $0.priority != $1.priority ? $0.priority > $1.priority : $0.job.id < $1.job.id }
            return claimed.map(\.job)
        }
    }

    public func complete(_ results: [(job: Job, result: Data)], worker: String) async throws -> Set<Int64> {
        guard !results.isEmpty else { return [] }
        return Set(Self.ids(try await rows(dialect.complete, ["batch": .text(Self.results(results)), "worker": .text(worker)])))
    }

    public func fail(_ job: Job, worker: String, error: String, retryable: Bool) async throws -> JobFate {
        let rows = try await rows(dialect.fail, ["retryable": dialect.boolean(retryable), "error": .text(error), "id": .integer(job.id),
                                                 "worker": .text(worker), "attempt": .integer(Int64(job.attempt))])
        guard let status = rows.first?[0] else { return .ignored }
        return status == "retry" ? .retry : .failed
    }

    public func release(_ job: Job, worker: String) async throws {
        _ = try await rows(dialect.release, ["id": .integer(job.id), "worker": .text(worker), "attempt": .integer(Int64(job.attempt))])
    }

    public func heartbeat(_ jobs: [Int64], worker: String, lease: Duration) async throws {
        guard !jobs.isEmpty else { return }
        _ = try await rows(dialect.heartbeat, ["lease": .double(lease.seconds), "worker": .text(worker),
                                               "ids": .text("[" + jobs.map(String.init).joined(separator: ",") + "]")])
    }

    public func rescue(queues: [String], lease: Duration) async throws -> Int {
        try await rows(dialect.rescue, ["queues": .text(JSONValue.array(queues.map { .string($0) }).encoded),
                                        "lease": .double(lease.seconds)]).count
    }

    public func stats(queue: String?) async throws -> QueueStats {
        var stats = QueueStats()
        for row in try await rows(dialect.stats, ["queue": Self.optional(queue)]) {
            if let status = row[0].flatMap(JobStatus.init(rawValue:)) { stats[status] = row[1].flatMap { Int($0) } ?? 0 }
        }
        return stats
    }

    public func waitForJobs(queues: [String], timeout: Duration) async throws -> Bool? {
        guard let listen = dialect.listen, let notifications = dialect.notifications else { return nil }
        let connection: any SQLDatabase
        if let open = listener.withLock({ $0 }) {
            connection = open
        } else {
            connection = try await self.open()
            try await listen(connection)
            listener.withLock { $0 = connection }
        }
        do {
            return try await notifications(connection, timeout).contains(where: queues.contains)
        } catch {
            listener.withLock { $0 = nil }
            throw error
        }
    }

    public func job(_ id: Int64) async throws -> JobRecord? {
        try await rows(dialect.job, ["id": .integer(id)]).first.flatMap(Self.record)
    }

    public func list(queue: String?, status: JobStatus?, limit: Int) async throws -> [JobRecord] {
        try await rows(dialect.list, ["queue": Self.optional(queue), "status": Self.optional(status?.rawValue),
                                      "limit": .integer(Int64(limit))]).compactMap(Self.record)
    }

    public func retry(id: Int64?, queue: String?) async throws -> Int {
        try await rows(dialect.retry, ["id": id.map { .integer($0) } ?? .null, "queue": Self.optional(queue)]).count
    }

    public func purge(queue: String?, status: JobStatus?, before: Date) async throws -> Int {
        if let status, !status.isFinished { throw TaskShimError.usage("Only completed and failed jobs can be purged, not \(status.rawValue) ones.") }
        return try await rows(dialect.purge, ["status": Self.optional(status?.rawValue), "queue": Self.optional(queue),
                                              "before": .double(before.timeIntervalSince1970)]).count
    }

    // MARK: Rows

    /// New jobs as one JSON array: `q` queue, `t` type, `p` payload (as JSON), `m` max attempts,
    /// `r` retry delay, `b` backoff, `pr` priority, `u` unique key, `d` delay in seconds.
    static func batch(_ jobs: [NewJob]) -> String {
        var batch = "["
        for (index, job) in jobs.enumerated() {
            if index > 0 { batch += "," }
            var row = JSONLine()
            row.add("q", job.queue)
            row.add("t", job.type)
            row.add("p", rawJSON: String(decoding: job.payload, as: UTF8.self))
            row.add("m", job.maxAttempts)
            row.add("r", job.retryDelaySeconds)
            row.add("b", job.backoff.rawValue)
            row.add("pr", job.priority)
            if let key = job.uniqueKey { row.add("u", key) }
            row.add("d", job.delaySeconds)
            batch += row.string
        }
        return batch + "]"
    }

    /// Finished jobs as one JSON array of `id`, `attempt` and `result` (as JSON).
    static func results(_ results: [(job: Job, result: Data)]) -> String {
        var batch = "["
        for (index, entry) in results.enumerated() {
            if index > 0 { batch += "," }
            batch += #"{"id":\#(entry.job.id),"attempt":\#(entry.job.attempt),"result":"#
            batch += String(decoding: entry.result, as: UTF8.self) + "}"
        }
        return batch + "]"
    }

    private static func job(_ row: SQLRow) -> Job? {
        guard let id = row[0].flatMap({ Int64($0) }), let queue = row[1], let type = row[2] else { return nil }
        return Job(id: id, queue: queue, type: type, payload: Data((row[3] ?? "{}").utf8), attempt: row[4].flatMap { Int($0) } ?? 1,
                   maxAttempts: row[5].flatMap { Int($0) } ?? 1, retryDelaySeconds: row[6].flatMap { Double($0) }.map { Int($0) } ?? 30)
    }

    /// The columns of ``record(_:)``, times as seconds since the epoch.
    static let recordColumns = """
        job_id, queue_name, job_type, status, payload_json, result_json, error_text, attempt_count, max_attempts,
        priority, unique_key, worker_id, created_at, available_at, started_at, finished_at
        """

    private static func record(_ row: SQLRow) -> JobRecord? {
        guard row.values.count >= 16, let id = row[0].flatMap({ Int64($0) }), let queue = row[1], let type = row[2],
              let status = row[3].flatMap(JobStatus.init(rawValue:)) else { return nil }
        func date(_ index: Int) -> Date? { row[index].flatMap(Double.init).map { Date(timeIntervalSince1970: $0) } }
        return JobRecord(id: id, queue: queue, type: type, status: status, payload: Data((row[4] ?? "{}").utf8),
                         result: row[5].map { Data($0.utf8) }, error: row[6], attempt: row[7].flatMap { Int($0) } ?? 0,
                         maxAttempts: row[8].flatMap { Int($0) } ?? 0, priority: row[9].flatMap { Int($0) } ?? 0, uniqueKey: row[10],
                         workerID: row[11], createdAt: date(12), availableAt: date(13), startedAt: date(14), finishedAt: date(15))
    }
}

/// Claims from each queue in the order given until `limit` jobs are claimed (the first queue has
/// precedence, as in RQ). A failure after some jobs were claimed returns those: they are this
/// worker's already, better run than left to their lease.
func claimInOrder(queues: [String], limit: Int, _ claim: (_ queue: String, _ limit: Int) async throws -> [Job]) async throws -> [Job] {
    var jobs: [Job] = []
    for queue in queues where jobs.count < limit {
        do {
            jobs += try await claim(queue, limit - jobs.count)
        } catch where !jobs.isEmpty {
            return jobs
        }
    }
    return jobs
}
