import FoundationEssentials

/// Scheduled runs claimed in a table every scheduler of a deployment shares
/// (`TASKSHIM_SCHEDULE_URL`: PostgreSQL, or a SQLite file for the processes of one host): a run is
/// inserted once, by the first scheduler; the others find it taken. The table also remembers the last
/// run of each task, so a restarted scheduler can catch up one it missed, and a second table holds the
/// leases of `forbid` tasks' running runs (expiry times in milliseconds by each scheduler's clock:
/// hosts' clocks must agree to well within the lease).
///
/// Task names are the claims' keys: deployments that share a database need distinct task names.
actor SQLRunClaims: RunClaims {
    private var database: any SQLDatabase
    private let url: String
    let displayName: String

    private init(database: any SQLDatabase, url: String) {
        self.database = database
        self.url = url
        displayName = "\(database.kind) \(database.displayName)"
    }

    /// The database at `url`: PostgreSQL, or a SQLite file (created when missing, SQLite 3.35+ for RETURNING).
    private static func connect(_ url: String) async throws -> any SQLDatabase {
        if let path = SQLDatabases.sqlitePath(url) {
            let file = try await SQLiteDatabase.open(path: path, create: true)
            let (supported, version) = try await file.returningSupport()
            guard supported else {
                throw TaskShimError.configuration("Schedule claims in SQLite need SQLite 3.35 or newer; this host's library is \(version).",
                                                  hint: "Use PostgreSQL for TASKSHIM_SCHEDULE_URL, or a newer libsqlite3.")
            }
            return file
        }
        return try await SQLDatabases.open(url: url)
    }

    static func open(url: String) async throws(TaskShimError) -> SQLRunClaims {
        do {
            let database = try await connect(url)
            let create = """
                CREATE TABLE IF NOT EXISTS taskshim_schedule_runs (
                  task TEXT NOT NULL, logical_time BIGINT NOT NULL, scheduler TEXT NOT NULL, claimed_at BIGINT NOT NULL,
                  PRIMARY KEY (task, logical_time))
                """
            let createLeases = """
                CREATE TABLE IF NOT EXISTS taskshim_schedule_leases (
                  task TEXT PRIMARY KEY, holder TEXT NOT NULL, expires_at BIGINT NOT NULL)
                """
            for (statement, table) in [(create, "taskshim_schedule_runs"), (createLeases, "taskshim_schedule_leases")] {
                do {
                    _ = try await database.all(statement)
                } catch {
                    // Another scheduler created it at the same moment (PostgreSQL can refuse the second CREATE).
                    _ = try await database.all("SELECT 1 FROM \(table) LIMIT 1")
                }
            }
            // Old claims only answer "was it run": a month is plenty.
            _ = try await database.all("DELETE FROM taskshim_schedule_runs WHERE claimed_at < :cutoff",
                                       parameters: ["cutoff": .integer(Int64(Date().timeIntervalSince1970) - 31 * 86400)])
            return SQLRunClaims(database: database, url: url)
        } catch {
            let wrapped = TaskShimError.wrapping(error)
            throw TaskShimError(wrapped.status, "The schedule's claims database (TASKSHIM_SCHEDULE_URL): \(wrapped.message)", hint: wrapped.hint)
        }
    }

    /// `sql` on the connection; after a failure (a restarted server), once more on a new connection.
    private func all(_ sql: String, _ parameters: [String: SQLValue]) async throws -> [SQLRow] {
        do {
            return try await database.all(sql, parameters: parameters)
        } catch {
            database = try await Self.connect(url)
            return try await database.all(sql, parameters: parameters)
        }
    }

    func claim(task: String, logicalTime: Date, scheduler: String) async throws -> Bool {
        let rows = try await all("""
            INSERT INTO taskshim_schedule_runs (task, logical_time, scheduler, claimed_at) VALUES (:task, :time, :scheduler, :now)
            ON CONFLICT (task, logical_time) DO NOTHING RETURNING task
            """, ["task": .text(task), "time": .integer(Int64(logicalTime.timeIntervalSince1970)), "scheduler": .text(scheduler),
                  "now": .integer(Int64(Date().timeIntervalSince1970))])
        return rows.count == 1
    }

    func lastClaimed(task: String) async throws -> Date? {
        let rows = try await all("SELECT max(logical_time) FROM taskshim_schedule_runs WHERE task = :task", ["task": .text(task)])
        return rows.first?[0].flatMap(Double.init).map { Date(timeIntervalSince1970: $0) }
    }

    func lease(task: String, holder: String, until expiry: Date, now: Date) async throws -> Bool {
        let rows = try await all("""
            INSERT INTO taskshim_schedule_leases (task, holder, expires_at) VALUES (:task, :holder, :expiry)
            ON CONFLICT (task) DO UPDATE SET holder = excluded.holder, expires_at = excluded.expires_at
            WHERE taskshim_schedule_leases.expires_at < :now OR taskshim_schedule_leases.holder = excluded.holder
            RETURNING task
            """, ["task": .text(task), "holder": .text(holder), "expiry": .integer(Self.milliseconds(expiry)), "now": .integer(Self.milliseconds(now))])
        return rows.count == 1
    }

    func release(task: String, holder: String) async throws {
        _ = try await all("DELETE FROM taskshim_schedule_leases WHERE task = :task AND holder = :holder", ["task": .text(task), "holder": .text(holder)])
    }

    private static func milliseconds(_ date: Date) -> Int64 { Int64((date.timeIntervalSince1970 * 1000).rounded()) }
}
