import FoundationEssentials
#if canImport(Glibc)
import Glibc
#endif
import Logging
import TaskShimCore
import TaskShimClients

/// Runs a SQL file for a time window and sends the rows as telemetry records: a port of the seeds'
/// `handler.py <sql_file>`.
///
/// Event fields (all optional): `stream_name`, `start`, `end` (RFC 3339). The window is the
/// invocation's data interval when set, else the previous complete hour before the logical time less
/// `DATA_LATENCY_HOURS`. The SQL sees it as `:window_start`, `:window_end` (RFC 3339 text) and
/// `:window_start_epoch`, `:window_end_epoch` (seconds), plus `:stream_name`.
public struct SQLTelemetryHandler: Handler {
    public let file: String
    public var name: String { file }

    public init(file: String) {
        self.file = file
    }

    /// The event fields this handler reads.
    struct Options {
        var streamName: String?
        var interval: DateInterval?
    }

    func options(from invocation: Invocation) throws(TaskShimError) -> Options {
        let object = try invocation.jsonObject()
        func string(_ key: String) throws(TaskShimError) -> String? {
            guard let value = object[key], value != .null else { return nil }
            guard let text = value.string else { throw .data("The event field \(key) must be a string.") }
            return text
        }
        let interval = try DateInterval.parsing(start: try string("start"), end: try string("end"),
                                                  names: ("the event field start", "the event field end"), status: .dataError)
        return Options(streamName: try string("stream_name"), interval: interval ?? invocation.dataInterval)
    }

    func readSQL() throws(TaskShimError) -> String {
        var isDirectory = false
        guard FileManager.default.fileExists(atPath: file, isDirectory: &isDirectory) else {
            throw TaskShimError(.noInput, "The SQL file \(file) does not exist.",
                                hint: "Check the path (relative paths start from \(FileManager.default.currentDirectoryPath)).")
        }
        guard !isDirectory else {
            throw TaskShimError(.noInput, "\(file) is a directory, not a SQL file.")
        }
        guard let data = FileManager.default.contents(atPath: file) else {
            throw TaskShimError(.noInput, "The SQL file \(file) cannot be read.", hint: "Check its permissions.")
        }
        guard let sql = String(data: data, encoding: .utf8) else {
            throw .data("The SQL file \(file) is not UTF-8 text.")
        }
        guard !sql.trimmed.isEmpty else {
            throw .data("The SQL file \(file) is empty.")
        }
        return sql
    }

    func openDatabase(_ configuration: TelemetryConfiguration, logger: Logger) async throws -> any SQLDatabase {
        if let url = configuration.databaseURL {
            return try await SQLDatabases.open(
                url: url,
                options: .init(statementTimeoutMilliseconds: configuration.statementTimeoutMilliseconds))
        }
        logger.debug("DATABASE_URL is not set: using the embedded demo database",
                     metadata: ["directory": .string(configuration.dataDirectory)])
        return try await DemoDatabase.open(directory: configuration.dataDirectory)
    }

    /// Connects and starts the query, retrying both while nothing has been read (a database restarting,
    /// a failover, a serialization failure) under the database's retry budget and circuit breaker.
    func startQuery(_ sql: String, parameters: [String: SQLValue], configuration: TelemetryConfiguration, invocation: Invocation,
                    context: HandlerContext, logger: Logger) async throws -> any SQLRowCursor {
        let dependency = "database:" + (configuration.databaseURL.map(PostgresConnection.describe(url:)) ?? "demo")
        let policy = RetryPolicy(maxAttempts: configuration.attempts, baseDelay: configuration.retryBase)
            .bounded(for: invocation, attempts: configuration.platformRetryAttempts)
        let file = file
        return try await context.dependencies.call(dependency, "database call", policy: policy, logger: logger) { _ in
            let database = try await openDatabase(configuration, logger: logger)
            logger.debug("running query", metadata: ["database": .string("\(database.kind) \(database.displayName)"),
                                                      "file": .string(file)])
            return try await database.query(sql, parameters: parameters)
        }
    }

    func makeHTTPClient(_ configuration: TelemetryConfiguration) -> HTTPClient {
        HTTPClient(options: .init(requestTimeout: configuration.requestTimeout, caFile: configuration.caFile))
    }

    var defaultStreamName: String {
        FilePath.stem(file)
    }

    public func handle(_ invocation: Invocation, context: HandlerContext) async throws -> Data {
        let configuration = try TelemetryConfiguration(environment: context.environment)
        let options = try options(from: invocation)
        let sql = try readSQL()
        guard invocation.dryRun || configuration.endpoint != nil else {
            throw TaskShimError.configuration("TELEMETRY_URL is not set, so there is nowhere to send the records.",
                                              hint: "Set TELEMETRY_URL (and TELEMETRY_API_KEY), or add --dry-run to print them instead.")
        }
        let stream = options.streamName ?? configuration.streamName ?? defaultStreamName
        let window = TelemetryWindow.compute(logicalTime: invocation.logicalTime, latencyHours: configuration.latencyHours,
                                             explicit: options.interval)
        var logger = context.logger
        logger[metadataKey: "window_start"] = .string(Timestamp.format(window.start, fractional: false))
        logger[metadataKey: "window_end"] = .string(Timestamp.format(window.end, fractional: false))

        let parameters: [String: SQLValue] = [
            "window_start": .timestamp(window.start),
            "window_end": .timestamp(window.end),
            "window_start_epoch": .integer(Int64(window.start.timeIntervalSince1970)),
            "window_end_epoch": .integer(Int64(window.end.timeIntervalSince1970)),
            "stream_name": .text(stream),
        ]
        let cursor = try await startQuery(sql, parameters: parameters, configuration: configuration, invocation: invocation,
                                          context: context, logger: logger)

        var sender: TelemetrySender?
        if !invocation.dryRun, let endpoint = configuration.endpoint {
            let apiKey = try await context.secrets.secret(named: TelemetryConfiguration.apiKeySecret)
            if apiKey == nil {
                logger.warning("\(TelemetryConfiguration.apiKeySecret) is not set: sending without an Authorization header")
            }
            sender = TelemetrySender(
                client: makeHTTPClient(configuration), endpoint: endpoint, apiKey: apiKey,
                policy: RetryPolicy(maxAttempts: configuration.attempts, baseDelay: configuration.retryBase)
                    .bounded(for: invocation, attempts: configuration.platformRetryAttempts),
                deadline: invocation.deadline, logger: logger, dependencies: context.dependencies)
        }

        // The same window and stream give the same keys on every rerun, so an endpoint that honours
        // Idempotency-Key stores a batch once however often the scheduler retries the run.
        let runKey = "\(stream):\(Timestamp.format(window.start, fractional: false))/\(Timestamp.format(window.end, fractional: false))"
        let metrics = context.metrics
        var mapper: RecordMapper?
        var batch: [TelemetryRecord] = []
        batch.reserveCapacity(configuration.maxRecordsPerCall)
        var batchNumber = 0
        func flush() async throws {
            guard !batch.isEmpty else { return }
            batchNumber += 1
            if let current = sender {
                do {
                    try await current.send(batch, idempotencyKey: "\(runKey):\(batchNumber)")
                } catch let error as TaskShimError where error.status == .noPermission {
                    // The key may have been rotated since it was read: read it again, and if it changed,
                    // send the batch once more (same idempotency key) with the new one.
                    // The endpoint's refusal stays the error if the key cannot be read again (say the
                    // secrets service is down): it is what the user has to act on.
                    let fresh = (try? await context.secrets.refreshed(named: TelemetryConfiguration.apiKeySecret)) ?? nil
                    guard let fresh, fresh != current.apiKey else { throw error }
                    logger.notice("The telemetry endpoint refused the API key; \(TelemetryConfiguration.apiKeySecret) was read again and changed: sending again")
                    sender?.apiKey = fresh
                    try await sender?.send(batch, idempotencyKey: "\(runKey):\(batchNumber)")
                }
                metrics.add("records_sent", batch.count)
                metrics.add("batches_sent")
            } else {
                context.output.write(lines: batch.map(\.json))
                metrics.add("records_printed", batch.count)
            }
            batch.removeAll(keepingCapacity: true)
        }

        while true {
            try Task.checkCancellation()
            let rows = try await cursor.next(max: configuration.maxRecordsPerCall)
            if mapper == nil {
                // The columns are known once the first batch is read, even for an empty result.
                mapper = try RecordMapper(columns: cursor.columns, stream: stream, file: file)
            }
            if rows.isEmpty { break }
            let firstRow = metrics["rows_read"] + 1
            metrics.add("rows_read", rows.count)
            for (offset, row) in rows.enumerated() {
                switch mapper!.record(from: row) {
                case .success(let record):
                    batch.append(record)
                    if batch.count == configuration.maxRecordsPerCall { try await flush() }
                case .failure(let rejection):
                    metrics.add("rows_rejected")
                    if metrics["rows_rejected"] <= 10 {
                        logger.warning("row skipped: \(rejection.reason)", metadata: ["row": .stringConvertible(firstRow + offset)])
                    }
                }
            }
        }
        try await flush()
        if metrics["rows_rejected"] > 10 {
            logger.warning("more rows skipped than were logged", metadata: ["rows_rejected": .stringConvertible(metrics["rows_rejected"])])
        }
        var result = JSONLine()
        result.add("window_start", Timestamp.format(window.start, fractional: false))
        result.add("window_end", Timestamp.format(window.end, fractional: false))
        result.add("rows_read", metrics["rows_read"])
        result.add("rows_rejected", metrics["rows_rejected"])
        result.add("records", invocation.dryRun ? metrics["records_printed"] : metrics["records_sent"])
        result.add("batches", metrics["batches_sent"])
        return Data(result.string.utf8)
    }

    public func testConnections(context: HandlerContext) async throws -> [ConnectionCheck] {
        let configuration = try TelemetryConfiguration(environment: context.environment)
        return [await checkDatabase(configuration), await checkEndpoint(configuration, secrets: context.secrets)]
    }

    /// A round trip to the database; the embedded demo database is only looked at, never created.
    func checkDatabase(_ configuration: TelemetryConfiguration) async -> ConnectionCheck {
        do {
            let database: any SQLDatabase
            if let url = configuration.databaseURL {
                database = try await SQLDatabases.open(url: url)
            } else {
                let path = FilePath.join(configuration.dataDirectory, DemoDatabase.fileName)
                guard FileManager.default.fileExists(atPath: path) else {
                    return ConnectionCheck(dependency: "database", detail: "DATABASE_URL is not set: the embedded demo database \(path) is created on the first run")
                }
                database = try await SQLiteDatabase.open(path: path, create: false, readOnly: true)
            }
            try await database.ping()
            return ConnectionCheck(dependency: "database", detail: "\(database.kind) \(database.displayName) answered")
        } catch {
            return ConnectionCheck(dependency: "database", error: error)
        }
    }

    /// POSTs an empty batch, which a conforming endpoint accepts: proves reachability and the API key.
    func checkEndpoint(_ configuration: TelemetryConfiguration, secrets: any SecretsProvider) async -> ConnectionCheck {
        let dependency = "telemetry endpoint"
        guard let endpoint = configuration.endpoint else {
            return ConnectionCheck(dependency: dependency, detail: "TELEMETRY_URL is not set", failure: .configuration)
        }
        do {
            var headers = [("Content-Type", "application/json")]
            if let key = try await secrets.secret(named: TelemetryConfiguration.apiKeySecret) {
                headers.append(("Authorization", key))
            }
            let response = try await makeHTTPClient(configuration).send(HTTPRequest(
                method: "POST", url: endpoint, headers: headers, body: TelemetrySender.body(for: [])))
            try TelemetrySender.check(response, host: HTTPClient.host(of: endpoint))
            return ConnectionCheck(dependency: dependency, detail: "\(HTTPClient.host(of: endpoint)) accepted an empty batch (\(response.status))")
        } catch {
            return ConnectionCheck(dependency: dependency, error: error)
        }
    }
}
