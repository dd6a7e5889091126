import FoundationEssentials
import TaskShimCore

/// The handler's settings, from the seeds' environment variables.
public struct TelemetryConfiguration: Sendable {
    /// `TELEMETRY_URL`: where batches are POSTed. Required unless dry-running.
    public var endpoint: String?
    /// `MAX_RECORDS_PER_CALL`, default 3000.
    public var maxRecordsPerCall: Int
    /// `DATA_LATENCY_HOURS`, default 1.
    public var latencyHours: Int
    /// `STREAM_NAME`; the SQL file's name without extension when unset.
    public var streamName: String?
    /// `DATABASE_URL`; nil means the embedded SQLite demo database.
    public var databaseURL: String?
    /// `TASKSHIM_DATA_DIR`, where the embedded database lives (default `.taskshim`).
    public var dataDirectory: String
    /// `TASKSHIM_HTTP_ATTEMPTS`: tries per batch, default 4.
    public var attempts: Int
    /// `TASKSHIM_PLATFORM_RETRY_ATTEMPTS`: tries per batch when the platform retries the run itself, default 2.
    public var platformRetryAttempts: Int
    /// `TASKSHIM_RETRY_BASE_MS`: first backoff cap, default 500 ms.
    public var retryBase: Duration
    /// `TASKSHIM_HTTP_TIMEOUT_SECONDS`: per request, default 30.
    public var requestTimeout: Duration
    /// `TASKSHIM_STATEMENT_TIMEOUT_MS`: Postgres statement timeout, default 0 (none).
    public var statementTimeoutMilliseconds: Int
    /// `TASKSHIM_CA_FILE`: CA bundle for the endpoint's TLS.
    public var caFile: String?

    /// The name of the secret holding the API key sent in `Authorization`.
    public static let apiKeySecret = "TELEMETRY_API_KEY"

    public init(environment: Environment) throws(TaskShimError) {
        endpoint = environment["TELEMETRY_URL"]
        maxRecordsPerCall = try environment.int("MAX_RECORDS_PER_CALL", default: 3000, in: 1...100_000)
        latencyHours = try environment.int("DATA_LATENCY_HOURS", default: 1, in: 0...720)
        streamName = environment["STREAM_NAME"]
        databaseURL = environment["DATABASE_URL"]
        dataDirectory = environment["TASKSHIM_DATA_DIR"] ?? ".taskshim"
        attempts = try environment.int("TASKSHIM_HTTP_ATTEMPTS", default: 4, in: 1...20)
        platformRetryAttempts = try environment.int("TASKSHIM_PLATFORM_RETRY_ATTEMPTS", default: 2, in: 1...20)
        retryBase = .milliseconds(try environment.int("TASKSHIM_RETRY_BASE_MS", default: 500, in: 0...60_000))
        requestTimeout = .seconds(try environment.int("TASKSHIM_HTTP_TIMEOUT_SECONDS", default: 30, in: 1...900))
        statementTimeoutMilliseconds = try environment.int("TASKSHIM_STATEMENT_TIMEOUT_MS", default: 0, in: 0...86_400_000)
        caFile = environment["TASKSHIM_CA_FILE"]
        if let endpoint, !(endpoint.lowercased().hasPrefix("https://") || endpoint.lowercased().hasPrefix("http://")) {
            throw .configuration("TELEMETRY_URL=\(endpoint) is not an http(s) URL.", hint: "Use https://host/path.")
        }
    }
}
