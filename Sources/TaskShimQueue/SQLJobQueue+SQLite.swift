import FoundationEssentials
import TaskShimClients
import TaskShimCore

extension SQLJobQueue {
    /// The queue in a SQLite file, one host's queue with no server to run. Several worker processes
    /// may share the file: it is in WAL mode, and each claim is one `UPDATE ... RETURNING` statement
    /// holding SQLite's write lock from start to end, so two claims never see the same job; a writer
    /// waits up to 5 s for the lock. Commits are `synchronous = FULL`: a finished claim or result
    /// survives a crash of the machine. Times are seconds since the epoch (REAL), this host's clock.
    public static func sqlite(path: String) -> SQLJobQueue {
        SQLJobQueue(displayName: "sqlite " + path, dialect: .sqlite) {
            if let slash = path.lastIndex(of: "/"), slash != path.startIndex {
                try? FileManager.default.createDirectory(atPath: String(path[..<slash]), withIntermediateDirectories: true)
            }
            let database = try await SQLiteDatabase.open(path: path, create: true)
            try await database.execute("PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL")
            return database
        }
    }
}

extension SQLJobQueue.Dialect {
    static let sqliteSchema = """
        CREATE TABLE IF NOT EXISTS taskshim_jobs (
            job_id INTEGER PRIMARY KEY AUTOINCREMENT,
            queue_name TEXT NOT NULL DEFAULT 'default',
            job_type TEXT NOT NULL,
            status TEXT NOT NULL DEFAULT 'queued' CHECK (status IN ('queued', 'retry', 'running', 'completed', 'failed')),
            payload_json TEXT NOT NULL DEFAULT '{}',
            result_json TEXT,
            error_text TEXT,
            attempt_count INTEGER NOT NULL DEFAULT 0,
            max_attempts INTEGER NOT NULL DEFAULT 5,
            retry_delay_seconds REAL NOT NULL DEFAULT 30,
            retry_backoff TEXT NOT NULL DEFAULT 'linear' CHECK (retry_backoff IN ('linear', 'exponential')),
            priority INTEGER NOT NULL DEFAULT 0,
            unique_key TEXT,
            available_at REAL NOT NULL,
            locked_at REAL,
            lease_expires_at REAL,
            worker_id TEXT,
            created_at REAL NOT NULL,
            started_at REAL,
            finished_at REAL
        );
        CREATE INDEX IF NOT EXISTS taskshim_jobs_ready
            ON taskshim_jobs (queue_name, priority DESC, available_at, job_id) WHERE status IN ('queued', 'retry');
        CREATE INDEX IF NOT EXISTS taskshim_jobs_leases ON taskshim_jobs (lease_expires_at) WHERE status = 'running';
        CREATE INDEX IF NOT EXISTS taskshim_jobs_finished ON taskshim_jobs (finished_at) WHERE status IN ('completed', 'failed');
        CREATE UNIQUE INDEX IF NOT EXISTS taskshim_jobs_unique
            ON taskshim_jobs (queue_name, unique_key) WHERE unique_key IS NOT NULL AND status IN ('queued', 'retry', 'running');
        """

    static let sqlite = SQLJobQueue.Dialect(
        migrate: { database in
            guard let file = database as? SQLiteDatabase else { return }
            // RETURNING is 3.35's (UPDATE ... FROM 3.33's).
            let (supported, version) = try await file.returningSupport()
            guard supported else {
                throw TaskShimError.configuration("The SQLite queue needs SQLite 3.35 or newer; this host's library is \(version).",
                                                  hint: "Install a newer libsqlite3, or use a PostgreSQL or Redis queue.")
            }
            try await file.execute(sqliteSchema)
        },
        // The WHERE keeps SQLite from reading ON CONFLICT as part of the SELECT's join. json_quote of a
        // json_extract keeps JSON as JSON (an object stays an object, a string stays quoted).
        enqueue: """
            INSERT INTO taskshim_jobs (queue_name, job_type, payload_json, max_attempts, retry_delay_seconds, retry_backoff,
                                       priority, unique_key, available_at, created_at)
            SELECT json_extract(value, '$.q'), json_extract(value, '$.t'), json_quote(json_extract(value, '$.p')),
                   json_extract(value, '$.m'), json_extract(value, '$.r'), coalesce(json_extract(value, '$.b'), 'linear'),
                   json_extract(value, '$.pr'), json_extract(value, '$.u'), :now + json_extract(value, '$.d'), :now
            FROM json_each(:batch) WHERE true ORDER BY key
            ON CONFLICT DO NOTHING
            RETURNING job_id
            """,
        claim: """
            UPDATE taskshim_jobs
            SET status = 'running', attempt_count = attempt_count + 1, worker_id = :worker, locked_at = :now,
                lease_expires_at = :now + :lease, started_at = coalesce(started_at, :now)
            WHERE job_id IN (SELECT job_id FROM taskshim_jobs
                             WHERE queue_name = :queue AND status IN ('queued', 'retry') AND available_at <= :now
                             ORDER BY priority DESC, available_at, job_id
                             LIMIT :limit)
            RETURNING job_id, queue_name, job_type, payload_json, attempt_count, max_attempts, retry_delay_seconds, priority
            """,
        // RETURNING names the target table's columns unqualified (SQLite does not take the alias there).
        complete: """
            UPDATE taskshim_jobs AS j SET status = 'completed', result_json = d.result, error_text = NULL,
                finished_at = :now, lease_expires_at = NULL
            FROM (SELECT json_extract(value, '$.id') AS id, json_extract(value, '$.attempt') AS attempt,
                         json_quote(json_extract(value, '$.result')) AS result
                  FROM json_each(:batch)) AS d
            WHERE j.job_id = d.id AND j.worker_id = :worker AND j.status = 'running' AND j.attempt_count = d.attempt
            RETURNING job_id
            """,
        fail: """
            UPDATE taskshim_jobs SET
                status = CASE WHEN :retryable AND attempt_count < max_attempts THEN 'retry' ELSE 'failed' END,
                available_at = :now + CASE WHEN retry_backoff = 'exponential'
                    THEN min(86400.0, retry_delay_seconds * (1 << min(attempt_count - 1, 30))) * (0.5 + (abs(random()) % 1000000) / 2000000.0)
                    ELSE retry_delay_seconds * attempt_count END,
                error_text = :error, lease_expires_at = NULL, worker_id = NULL,
                finished_at = CASE WHEN :retryable AND attempt_count < max_attempts THEN NULL ELSE :now END
            WHERE job_id = :id AND worker_id = :worker AND status = 'running' AND attempt_count = :attempt
            RETURNING status
            """,
        release: """
            UPDATE taskshim_jobs SET status = 'retry', attempt_count = attempt_count - 1, available_at = :now,
                worker_id = NULL, lease_expires_at = NULL, error_text = 'released: the worker ' || :worker || ' stopped'
            WHERE job_id = :id AND worker_id = :worker AND status = 'running' AND attempt_count = :attempt
            """,
        heartbeat: """
            UPDATE taskshim_jobs SET lease_expires_at = :now + :lease
            WHERE job_id IN (SELECT value FROM json_each(:ids)) AND worker_id = :worker AND status = 'running'
            """,
        rescue: """
            UPDATE taskshim_jobs SET
                status = CASE WHEN attempt_count < max_attempts THEN 'retry' ELSE 'failed' END,
                error_text = 'the worker ' || coalesce(worker_id, '?') || ' stopped renewing its lease (killed or stuck)',
                available_at = :now, worker_id = NULL, lease_expires_at = NULL,
                finished_at = CASE WHEN attempt_count < max_attempts THEN NULL ELSE :now END
            WHERE status = 'running' AND lease_expires_at < :now AND queue_name IN (SELECT value FROM json_each(:queues))
            RETURNING job_id
            """,
        stats: "SELECT status, count(*) FROM taskshim_jobs WHERE :queue IS NULL OR queue_name = :queue GROUP BY status",
        job: "SELECT \(SQLJobQueue.recordColumns) FROM taskshim_jobs WHERE job_id = :id",
        list: """
            SELECT \(SQLJobQueue.recordColumns) FROM taskshim_jobs
            WHERE (:queue IS NULL OR queue_name = :queue) AND (:status IS NULL OR status = :status)
            ORDER BY job_id DESC LIMIT :limit
            """,
        retry: """
            UPDATE taskshim_jobs AS j SET status = 'retry', attempt_count = 0, available_at = :now, finished_at = NULL
            WHERE j.status = 'failed' AND (:id IS NULL OR j.job_id = :id) AND (:queue IS NULL OR j.queue_name = :queue)
              AND NOT EXISTS (SELECT 1 FROM taskshim_jobs AS o WHERE j.unique_key IS NOT NULL AND o.queue_name = j.queue_name
                              AND o.unique_key = j.unique_key AND o.status IN ('queued', 'retry', 'running'))
              -- Of failed jobs sharing a unique key, only the newest goes back (the key admits one).
              AND (j.unique_key IS NULL OR j.job_id = (SELECT max(f.job_id) FROM taskshim_jobs AS f WHERE f.status = 'failed'
                                                       AND f.queue_name = j.queue_name AND f.unique_key = j.unique_key))
            RETURNING job_id
            """,
        purge: """
            DELETE FROM taskshim_jobs
            WHERE status IN ('completed', 'failed') AND (:status IS NULL OR status = :status)
              AND (:queue IS NULL OR queue_name = :queue) AND finished_at < :before
            RETURNING job_id
            """,
        boolean: { .integer($0 ? 1 : 0) },
        common: { ["now": .double(Date().timeIntervalSince1970)] }
    )
}
