import TaskShimClients

/// The Ragonometrics workers' job table, `workflow.async_jobs`, as their migration makes it (plus a
/// column of their own the worker leaves alone), in the local PostgreSQL of scripts/test.
public enum RagonometricsTable {
    static let statements = [
        "CREATE SCHEMA IF NOT EXISTS workflow",
        """
        CREATE TABLE IF NOT EXISTS workflow.async_jobs (
            job_id bigserial PRIMARY KEY, queue_name text NOT NULL DEFAULT 'default', job_type text NOT NULL,
            status text NOT NULL DEFAULT 'queued', payload_json jsonb NOT NULL DEFAULT '{}', result_json jsonb, error_text text,
            attempt_count integer NOT NULL DEFAULT 0, max_attempts integer NOT NULL DEFAULT 3, retry_delay_seconds integer NOT NULL DEFAULT 30,
            available_at timestamptz NOT NULL DEFAULT now(), locked_at timestamptz, worker_id text, started_at timestamptz,
            finished_at timestamptz, updated_at timestamptz NOT NULL DEFAULT now())
        """,
        "CREATE TABLE IF NOT EXISTS workflow.thin (job_id bigserial PRIMARY KEY, job_type text)",
    ]

    /// Creates the tables if missing (under a lock: tests running at once would race on IF NOT EXISTS)
    /// and returns a connection to the database.
    public static func create() async throws -> PostgresConnection {
        let database = try await PostgresConnection.connect(url: try TestServers.postgresURL())
        _ = try await database.all("SELECT pg_advisory_lock(4242)")
        for statement in statements { _ = try await database.all(statement) }
        _ = try await database.all("SELECT pg_advisory_unlock(4242)")
        return database
    }
}
