import FoundationEssentials
import TaskShimClients
import TaskShimCore

extension SQLJobQueue {
    /// The queue in a PostgreSQL database: table `taskshim_jobs` in the connection's search path,
    /// created (under an advisory lock) by ``migrate()``.
    public static func postgres(url: String) -> SQLJobQueue {
        SQLJobQueue(displayName: "postgres " + PostgresConnection.describe(url: url), dialect: .postgres) {
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

    static let postgres = SQLJobQueue.Dialect(
        migrate: { database in
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
        enqueue: """
            INSERT INTO taskshim_jobs (queue_name, job_type, payload_json, max_attempts, retry_delay_seconds, retry_backoff,
                                       priority, unique_key, available_at)
            SELECT e->>'q', e->>'t', e->'p', (e->>'m')::integer, (e->>'r')::integer, coalesce(e->>'b', 'linear'),
                   (e->>'pr')::integer, e->>'u', now() + make_interval(secs => (e->>'d')::float8)
            FROM jsonb_array_elements(:batch::jsonb) WITH ORDINALITY AS x(e, n)
            ORDER BY n
            ON CONFLICT DO NOTHING
            RETURNING job_id
            """,
        claim: """
            UPDATE taskshim_jobs AS j
            SET status = 'running', attempt_count = j.attempt_count + 1, worker_id = :worker, locked_at = now(),
                lease_expires_at = now() + make_interval(secs => :lease), started_at = coalesce(j.started_at, now())
            FROM (SELECT job_id FROM taskshim_jobs
                  WHERE queue_name = :queue AND status IN ('queued', 'retry') AND available_at <= now()
                  ORDER BY priority DESC, available_at, job_id
                  LIMIT :limit
                  FOR UPDATE SKIP LOCKED) AS next
            WHERE j.job_id = next.job_id
            RETURNING j.job_id, j.queue_name, j.job_type, j.payload_json::text, j.attempt_count, j.max_attempts, j.retry_delay_seconds
            """,
        complete: """
            UPDATE taskshim_jobs AS j SET status = 'completed', result_json = d.result, error_text = NULL,
                finished_at = now(), lease_expires_at = NULL
            FROM (SELECT (e->>'id')::bigint AS id, (e->>'attempt')::integer AS attempt, e->'result' AS result
                  FROM jsonb_array_elements(:batch::jsonb) AS e) AS d
            WHERE j.job_id = d.id AND j.worker_id = :worker AND j.status = 'running' AND j.attempt_count = d.attempt
            RETURNING j.job_id
            """,
        fail: """
            UPDATE taskshim_jobs SET
                status = CASE WHEN :retryable AND attempt_count < max_attempts THEN 'retry' ELSE 'failed' END,
                available_at = now() + make_interval(secs => CASE WHEN retry_backoff = 'exponential'
                    THEN least(86400, retry_delay_seconds::float8 * power(2, attempt_count - 1)) * (0.5 + random() / 2)
                    ELSE retry_delay_seconds::float8 * attempt_count END),
                error_text = :error, lease_expires_at = NULL, worker_id = NULL,
                finished_at = CASE WHEN :retryable AND attempt_count < max_attempts THEN NULL ELSE now() END
            WHERE job_id = :id AND worker_id = :worker AND status = 'running' AND attempt_count = :attempt
            RETURNING status
            """,
        release: """
            UPDATE taskshim_jobs SET status = 'retry', attempt_count = attempt_count - 1, available_at = now(),
                worker_id = NULL, lease_expires_at = NULL, error_text = 'released: the worker ' || :worker || ' stopped'
            WHERE job_id = :id AND worker_id = :worker AND status = 'running' AND attempt_count = :attempt
            """,
        heartbeat: """
            UPDATE taskshim_jobs SET lease_expires_at = now() + make_interval(secs => :lease)
            WHERE job_id IN (SELECT value::bigint FROM jsonb_array_elements_text(:ids::jsonb)) AND worker_id = :worker AND status = 'running'
            """,
        rescue: """
            UPDATE taskshim_jobs SET
                status = CASE WHEN attempt_count < max_attempts THEN 'retry' ELSE 'failed' END,
                error_text = 'the worker ' || coalesce(worker_id, '?') || ' stopped renewing its lease (killed or stuck)',
                available_at = now(), worker_id = NULL, lease_expires_at = NULL,
                finished_at = CASE WHEN attempt_count < max_attempts THEN NULL ELSE now() END
            WHERE status = 'running' AND lease_expires_at < now()
              AND queue_name IN (SELECT jsonb_array_elements_text(:queues::jsonb))
            RETURNING job_id
            """,
        stats: "SELECT status, count(*) FROM taskshim_jobs WHERE :queue::text IS NULL OR queue_name = :queue GROUP BY status",
        job: "SELECT \(postgresRecord) FROM taskshim_jobs WHERE job_id = :id",
        list: """
            SELECT \(postgresRecord) FROM taskshim_jobs
            WHERE (:queue::text IS NULL OR queue_name = :queue) AND (:status::text IS NULL OR status = :status)
            ORDER BY job_id DESC LIMIT :limit
            """,
        retry: """
            UPDATE taskshim_jobs AS j SET status = 'retry', attempt_count = 0, available_at = now(), finished_at = NULL
            WHERE j.status = 'failed' AND (:id::bigint IS NULL OR j.job_id = :id) AND (:queue::text IS NULL OR j.queue_name = :queue)
              AND NOT EXISTS (SELECT 1 FROM taskshim_jobs AS o WHERE j.unique_key IS NOT NULL AND o.queue_name = j.queue_name
                              AND o.unique_key = j.unique_key AND o.status IN ('queued', 'retry', 'running'))
            RETURNING j.job_id
            """,
        purge: """
            DELETE FROM taskshim_jobs
            WHERE status IN ('completed', 'failed') AND (:status::text IS NULL OR status = :status)
              AND (:queue::text IS NULL OR queue_name = :queue) AND finished_at < to_timestamp(:before)
            RETURNING job_id
            """,
        boolean: { .text($0 ? "true" : "false") },
        common: { [:] }
    )
}
