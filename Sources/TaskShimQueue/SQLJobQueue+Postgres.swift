import FoundationEssentials
import TaskShimClients
import TaskShimCore

extension SQLJobQueue {
    /// The queue in a PostgreSQL database: table `taskshim_jobs` in the connection's search path,
    /// created (under an advisory lock) by ``migrate()``. With `table`, an existing table of the
    /// Ragonometrics workers' shape (`workflow.async_jobs`), used as it is: see ``Dialect/postgres(compatibleWith:)``.
    public static func postgres(url: String, table: String? = nil) throws(TaskShimError) -> SQLJobQueue {
        let dialect = try table.map { table throws(TaskShimError) in try Dialect.postgres(compatibleWith: table) } ?? .postgres
        return SQLJobQueue(displayName: "postgres " + PostgresConnection.describe(url: url) + (table.map { " table " + $0 } ?? ""),
                           dialect: dialect) {
            try await PostgresConnection.connect(url: url)
        }
    }
}

extension SQLJobQueue.Dialect {
    static let postgresSchema = [
        """
        CREATE TABLE IF NOT EXISTS taskshim_jobs (
            job_id bigserial PRIMARY KEY,
            queue_name text NOT NULL DEFAULT 'default',
            job_type text NOT NULL,
            status text NOT NULL DEFAULT 'queued' CHECK (status IN ('queued', 'retry', 'running', 'completed', 'failed')),
            payload_json jsonb NOT NULL DEFAULT '{}',
            result_json jsonb,
            error_text text,
            attempt_count integer NOT NULL DEFAULT 0,
            max_attempts integer NOT NULL DEFAULT 5,
            retry_delay_seconds integer NOT NULL DEFAULT 30,
            retry_backoff text NOT NULL DEFAULT 'linear' CHECK (retry_backoff IN ('linear', 'exponential')),
            priority integer NOT NULL DEFAULT 0,
            unique_key text,
            available_at timestamptz NOT NULL DEFAULT now(),
            locked_at timestamptz,
            lease_expires_at timestamptz,
            worker_id text,
            created_at timestamptz NOT NULL DEFAULT now(),
            started_at timestamptz,
            finished_at timestamptz
        )
        """,
        // Tables made before the column existed.
        "ALTER TABLE taskshim_jobs ADD COLUMN IF NOT EXISTS retry_backoff text NOT NULL DEFAULT 'linear'",
        """
        CREATE INDEX IF NOT EXISTS taskshim_jobs_ready
            ON taskshim_jobs (queue_name, priority DESC, available_at, job_id) WHERE status IN ('queued', 'retry')
        """,
        "CREATE INDEX IF NOT EXISTS taskshim_jobs_leases ON taskshim_jobs (lease_expires_at) WHERE status = 'running'",
        "CREATE INDEX IF NOT EXISTS taskshim_jobs_finished ON taskshim_jobs (finished_at) WHERE status IN ('completed', 'failed')",
        """
        CREATE UNIQUE INDEX IF NOT EXISTS taskshim_jobs_unique
            ON taskshim_jobs (queue_name, unique_key) WHERE unique_key IS NOT NULL AND status IN ('queued', 'retry', 'running')
        """,
    ]

    private static let postgresRecord = """
        job_id, queue_name, job_type, status, payload_json::text, result_json::text, error_text, attempt_count, max_attempts,
        priority, unique_key, worker_id, extract(epoch FROM created_at)::float8, extract(epoch FROM available_at)::float8,
        extract(epoch FROM started_at)::float8, extract(epoch FROM finished_at)::float8
        """

    static let postgres = postgres(table: "taskshim_jobs", compatible: false)

    /// The columns the Ragonometrics workers' table has, which the compatibility mode needs.
    static let compatibleColumns = ["job_id", "queue_name", "job_type", "status", "payload_json", "result_json", "error_text",
                                    "attempt_count", "max_attempts", "retry_delay_seconds", "available_at", "locked_at", "worker_id",
                                    "started_at", "finished_at"]

    /// The statements for an existing table of the Ragonometrics workers' shape (`workflow.async_jobs`),
    /// so their enqueuers and a TaskShim worker share it. The table is used as it is: nothing is
    /// created or altered (``migrate()`` checks the columns). Without a lease column the lease is
    /// `locked_at`, renewed by heartbeats, and a job whose `locked_at` is older than the worker's
    /// lease is rescued; there is no priority (oldest first), unique key nor exponential backoff.
    static func postgres(compatibleWith table: String) throws(TaskShimError) -> SQLJobQueue.Dialect {
        let parts = table.split(separator: ".", omittingEmptySubsequences: false)
        guard (1...2).contains(parts.count), parts.allSatisfy({ part in
            guard let first = part.first, first == "_" || first.isLetter else { return false }
            return part.allSatisfy { $0 == "_" || $0.isLetter || $0.isNumber } && part.allSatisfy(\.isASCII)
        }) else {
            throw .configuration("The queue table '\(table)' is not a table name.", hint: "Use schema.table, for example workflow.async_jobs.")
        }
        return postgres(table: parts.map { "\"\($0)\"" }.joined(separator: "."), compatible: true,
                        schema: parts.count == 2 ? String(parts[0]) : nil, name: String(parts.last!))
    }

    /// `table` is a quoted identifier (validated by the caller).
    private static func postgres(table: String, compatible: Bool, schema: String? = nil, name: String = "taskshim_jobs") -> SQLJobQueue.Dialect {
        let record = compatible ? """
            job_id, queue_name, job_type, status, payload_json::text, result_json::text, error_text, attempt_count, max_attempts,
            0, NULL, worker_id, NULL, extract(epoch FROM available_at)::float8,
            extract(epoch FROM started_at)::float8, extract(epoch FROM finished_at)::float8
            """ : postgresRecord
        let leaseEnd = compatible ? "" : ", lease_expires_at = NULL"
        return SQLJobQueue.Dialect(
            migrate: { database in
                if compatible {
                    // The table is theirs: check it has what the worker uses, change nothing.
                    let rows = try await database.all("""
                        SELECT column_name FROM information_schema.columns
                        WHERE table_name = :name AND (:schema::text IS NULL OR table_schema = :schema)
                        """, parameters: ["name": .text(name), "schema": schema.map { .text($0) } ?? .null])
                    let present = Set(rows.compactMap { $0[0] })
                    let missing = compatibleColumns.filter { !present.contains($0) }
                    guard missing.isEmpty else {
                        throw TaskShimError.configuration(
                            present.isEmpty ? "The queue table \(table) does not exist (or this user cannot see it)."
                                : "The queue table \(table) lacks the columns \(missing.joined(separator: ", ")).",
                            hint: "TASKSHIM_QUEUE_TABLE names an existing table of the Ragonometrics workers' shape; unset it to use taskshim_jobs.")
                    }
                    return
                }
                // Concurrent first starts would race on CREATE ... IF NOT EXISTS: one at a time.
                let key: [String: SQLValue] = ["key": .integer(0x7461_736B_7368_696D)]
                // libpq prints notices on stderr: no "already exists, skipping" on every start.
                _ = try await database.all("SELECT set_config('client_min_messages', 'warning', false)")
                _ = try await database.all("SELECT pg_advisory_lock(:key)", parameters: key)
                do {
                    for statement in postgresSchema { _ = try await database.all(statement) }
                } catch {
                    _ = try? await database.all("SELECT pg_advisory_unlock(:key)", parameters: key)
                    throw error
                }
                _ = try await database.all("SELECT pg_advisory_unlock(:key)", parameters: key)
            },
            enqueue: compatible ? """
                WITH added AS (
                    INSERT INTO \(table) (queue_name, job_type, status, payload_json, attempt_count, max_attempts, retry_delay_seconds, available_at)
                    SELECT e->>'q', e->>'t', 'queued', e->'p', 0, (e->>'m')::integer, (e->>'r')::integer,
                           now() + make_interval(secs => (e->>'d')::float8)
                    FROM jsonb_array_elements(:batch::jsonb) WITH ORDINALITY AS x(e, n)
                    ORDER BY n
                    RETURNING job_id, queue_name)
                SELECT job_id, pg_notify('\(SQLJobQueue.channel)', queue_name) FROM added
                """ : """
                WITH added AS (
                    INSERT INTO taskshim_jobs (queue_name, job_type, payload_json, max_attempts, retry_delay_seconds, retry_backoff,
                                               priority, unique_key, available_at)
                    SELECT e->>'q', e->>'t', e->'p', (e->>'m')::integer, (e->>'r')::integer, coalesce(e->>'b', 'linear'),
                           (e->>'pr')::integer, e->>'u', now() + make_interval(secs => (e->>'d')::float8)
                    FROM jsonb_array_elements(:batch::jsonb) WITH ORDINALITY AS x(e, n)
                    ORDER BY n
                    ON CONFLICT DO NOTHING
                    RETURNING job_id, queue_name)
                SELECT job_id, pg_notify('\(SQLJobQueue.channel)', queue_name) FROM added
                """,
            claim: """
                UPDATE \(table) AS j
                SET status = 'running', attempt_count = j.attempt_count + 1, worker_id = :worker, locked_at = now(),
                    \(compatible ? "" : "lease_expires_at = now() + make_interval(secs => :lease),") started_at = coalesce(j.started_at, now())
                FROM (SELECT job_id FROM \(table)
                      WHERE queue_name = :queue AND status IN ('queued', 'retry') AND available_at <= now()
                      ORDER BY \(compatible ? "" : "priority DESC,") available_at, job_id
                      LIMIT :limit
                      FOR UPDATE SKIP LOCKED) AS next
                WHERE j.job_id = next.job_id
                RETURNING j.job_id, j.queue_name, j.job_type, j.payload_json::text, j.attempt_count, j.max_attempts, j.retry_delay_seconds,
                          \(compatible ? "0" : "j.priority")
                """,
            complete: """
                UPDATE \(table) AS j SET status = 'completed', result_json = d.result, error_text = NULL,
                    finished_at = now()\(leaseEnd)
                FROM (SELECT (e->>'id')::bigint AS id, (e->>'attempt')::integer AS attempt, e->'result' AS result
                      FROM jsonb_array_elements(:batch::jsonb) AS e) AS d
                WHERE j.job_id = d.id AND j.worker_id = :worker AND j.status = 'running' AND j.attempt_count = d.attempt
                RETURNING j.job_id
                """,
            fail: """
                UPDATE \(table) SET
                    status = CASE WHEN :retryable AND attempt_count < max_attempts THEN 'retry' ELSE 'failed' END,
                    available_at = now() + make_interval(secs => \(compatible ? "retry_delay_seconds::float8 * attempt_count" : """
                        CASE WHEN retry_backoff = 'exponential'
                        THEN least(86400, retry_delay_seconds::float8 * power(2, least(attempt_count - 1, 30))) * (0.5 + random() / 2)
                        ELSE retry_delay_seconds::float8 * attempt_count END
                        """)),
                    error_text = :error, worker_id = NULL\(leaseEnd),
                    finished_at = CASE WHEN :retryable AND attempt_count < max_attempts THEN NULL ELSE now() END
                WHERE job_id = :id AND worker_id = :worker AND status = 'running' AND attempt_count = :attempt
                RETURNING status
                """,
            release: """
                UPDATE \(table) SET status = 'retry', attempt_count = attempt_count - 1, available_at = now(),
                    worker_id = NULL\(leaseEnd), error_text = 'released: the worker ' || :worker || ' stopped'
                WHERE job_id = :id AND worker_id = :worker AND status = 'running' AND attempt_count = :attempt
                RETURNING pg_notify('\(SQLJobQueue.channel)', queue_name)
                """,
            heartbeat: """
                UPDATE \(table) SET \(compatible ? "locked_at = now()" : "lease_expires_at = now() + make_interval(secs => :lease)")
                WHERE job_id IN (SELECT value::bigint FROM jsonb_array_elements_text(:ids::jsonb)) AND worker_id = :worker AND status = 'running'
                """,
            rescue: """
                UPDATE \(table) SET
                    status = CASE WHEN attempt_count < max_attempts THEN 'retry' ELSE 'failed' END,
                    error_text = 'the worker ' || coalesce(worker_id, '?') || ' stopped renewing its lease (killed or stuck)',
                    available_at = now(), worker_id = NULL\(leaseEnd),
                    finished_at = CASE WHEN attempt_count < max_attempts THEN NULL ELSE now() END
                WHERE status = 'running' AND \(compatible ? "locked_at < now() - make_interval(secs => :lease)" : "lease_expires_at < now()")
                  AND queue_name IN (SELECT jsonb_array_elements_text(:queues::jsonb))
                RETURNING job_id, pg_notify('\(SQLJobQueue.channel)', queue_name)
                """,
            stats: "SELECT status, count(*) FROM \(table) WHERE :queue::text IS NULL OR queue_name = :queue GROUP BY status",
            job: "SELECT \(record) FROM \(table) WHERE job_id = :id",
            list: """
                SELECT \(record) FROM \(table)
                WHERE (:queue::text IS NULL OR queue_name = :queue) AND (:status::text IS NULL OR status = :status)
                ORDER BY job_id DESC LIMIT :limit
                """,
            retry: compatible ? """
                UPDATE \(table) SET status = 'retry', attempt_count = 0, available_at = now(), finished_at = NULL
                WHERE status = 'failed' AND (:id::bigint IS NULL OR job_id = :id) AND (:queue::text IS NULL OR queue_name = :queue)
                RETURNING job_id, pg_notify('\(SQLJobQueue.channel)', queue_name)
                """ : """
                UPDATE taskshim_jobs AS j SET status = 'retry', attempt_count = 0, available_at = now(), finished_at = NULL
                WHERE j.status = 'failed' AND (:id::bigint IS NULL OR j.job_id = :id) AND (:queue::text IS NULL OR j.queue_name = :queue)
                  AND NOT EXISTS (SELECT 1 FROM taskshim_jobs AS o WHERE j.unique_key IS NOT NULL AND o.queue_name = j.queue_name
                                  AND o.unique_key = j.unique_key AND o.status IN ('queued', 'retry', 'running'))
                  -- Of failed jobs sharing a unique key, only the newest goes back (the key admits one).
                  AND (j.unique_key IS NULL OR j.job_id = (SELECT max(f.job_id) FROM taskshim_jobs AS f WHERE f.status = 'failed'
                                                           AND f.queue_name = j.queue_name AND f.unique_key = j.unique_key))
                RETURNING j.job_id, pg_notify('\(SQLJobQueue.channel)', j.queue_name)
                """,
            purge: """
                DELETE FROM \(table)
                WHERE status IN ('completed', 'failed') AND (:status::text IS NULL OR status = :status)
                  AND (:queue::text IS NULL OR queue_name = :queue) AND finished_at < to_timestamp(:before)
                RETURNING job_id
                """,
            boolean: { .text($0 ? "true" : "false") },
            common: { [:] },
            compatible: compatible,
            listen: { database in _ = try await database.all("LISTEN \(SQLJobQueue.channel)") },
            notifications: { database, timeout in try await (database as? PostgresConnection)?.notifications(timeout: timeout) ?? [] }
        )
    }
}
