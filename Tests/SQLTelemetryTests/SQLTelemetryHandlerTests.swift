import Foundation
import Logging
import Testing
import TestSupport
@testable import SQLTelemetry
@testable import TaskShimClients
@testable import TaskShimCore

/// The handler end to end against real SQLite files, the real local PostgreSQL and a real HTTP receiver.
struct SQLTelemetryHandlerTests {
    static let window = DateInterval(start: Timestamp.parse("2026-11-22T08:00:00Z")!, end: Timestamp.parse("2026-11-22T09:00:00Z")!)
    static let passThroughSQL = "SELECT element_name, :window_start AS timestamp, filter, value FROM readings ORDER BY id"

    struct Run {
        var output: MemoryLineWriter
        var logs: MemoryLineWriter
        var result: Result<Data, TaskShimError>
        var metrics: RunMetrics

        var summary: [String: Any] {
            guard case .success(let data) = result else { return [:] }
            return (try? JSONSerialization.jsonObject(with: data) as? [String: Any]) ?? [:]
        }
    }

    func run(file: String, environment: [String: String], dryRun: Bool = false, payload: String = "",
             interval: DateInterval? = window, dependencies: Dependencies = Dependencies()) async -> Run {
        let output = MemoryLineWriter(), logs = MemoryLineWriter()
        let env = Environment(environment)
        let redactor = Redactor()
        redactor.addSecrets(from: env)
        let logger = LogSetup(format: .json, level: .debug, writer: logs, redactor: redactor).makeLogger(label: "test")
        let metrics = RunMetrics()
        let context = HandlerContext(logger: logger, environment: env, secrets: EnvironmentSecrets(environment: env, redactor: redactor),
                                     output: output, metrics: metrics, dependencies: dependencies)
        let invocation = Invocation(payload: Data(payload.utf8), trigger: .command, dataInterval: interval, requestID: "req", dryRun: dryRun)
        let result: Result<Data, TaskShimError>
        do { result = .success(try await SQLTelemetryHandler(file: file).handle(invocation, context: context)) } catch {
            result = .failure(.wrapping(error))
        }
        return Run(output: output, logs: logs, result: result, metrics: metrics)
    }

    /// A SQLite file with `count` readings, and the SQL file that passes them through.
    func fixture(rows count: Int, badEvery: Int = 0) async throws -> (TemporaryDirectory, database: String, sql: String) {
        let directory = try TemporaryDirectory()
        let path = directory.file("readings.sqlite")
        let database = try await SQLiteDatabase.open(path: path)
        try await database.execute("CREATE TABLE readings (id INTEGER PRIMARY KEY, element_name TEXT, filter TEXT, value TEXT)")
        let rows: [[SQLValue]] = (0..<count).map { index in
            let bad = badEvery > 0 && index % badEvery == 0
            return [.integer(Int64(index)), .text("element-\(index)"), .text("cpu"), .text(bad ? "n/a" : "\(Double(index) / 2)")]
        }
        try await database.insert("INSERT INTO readings VALUES (?1, ?2, ?3, ?4)", rows: rows)
        let sql = try directory.write("hourly.sql", Self.passThroughSQL)
        return (directory, path, sql)
    }

    @Test(arguments: [(0, [Int]()), (1, [1]), (3000, [3000]), (3001, [3000, 1]), (10_000, [3000, 3000, 3000, 1000])])
    func batchesHoldAtMostMaxRecordsPerCall(_ count: Int, _ expected: [Int]) async throws {
        let (directory, database, sql) = try await fixture(rows: count)
        let receiver = try await RecordingReceiver.start()
        let run = await run(file: sql, environment: ["DATABASE_URL": "sqlite:\(database)", "TELEMETRY_URL": receiver.url,
                                                     "TELEMETRY_API_KEY": "key-abc-123", "STREAM_NAME": "edge"])
        _ = directory
        #expect(try run.result.get().isEmpty == false)
        let requests = receiver.requests
        #expect(requests.map(\.records.count) == expected)
        #expect(requests.allSatisfy { $0.headers["authorization"] == "key-abc-123" && $0.headers["content-type"] == "application/json" })
        #expect(Set(requests.compactMap { $0.headers["idempotency-key"] }).count == expected.count)
        let all = requests.flatMap(\.records)
        #expect(all.count == count)
        if count > 0 {
            #expect(all.first?["element-name"] as? String == "element-0")
            #expect(all.last?["element-name"] as? String == "element-\(count - 1)")
            #expect(all.allSatisfy { $0["telemetry-stream"] as? String == "edge" && $0["timestamp"] as? String == "2026-11-22T08:00:00Z" })
        }
        #expect(run.metrics["records_sent"] == count)
        #expect(run.metrics["batches_sent"] == expected.count)
        #expect(run.summary["records"] as? Int == count)
    }

    @Test func maxRecordsPerCallIsHonoured() async throws {
        let (directory, database, sql) = try await fixture(rows: 25)
        let receiver = try await RecordingReceiver.start()
        let run = await run(file: sql, environment: ["DATABASE_URL": "sqlite:\(database)", "TELEMETRY_URL": receiver.url, "MAX_RECORDS_PER_CALL": "10"])
        _ = (directory, try run.result.get())
        #expect(receiver.requests.map(\.records.count) == [10, 10, 5])
    }

    @Test func rerunsOfTheSameWindowSendTheSameIdempotencyKeys() async throws {
        let (directory, database, sql) = try await fixture(rows: 7)
        let receiver = try await RecordingReceiver.start()
        let environment = ["DATABASE_URL": "sqlite:\(database)", "TELEMETRY_URL": receiver.url, "MAX_RECORDS_PER_CALL": "3",
                           "STREAM_NAME": "edge"]
        _ = (directory, try await run(file: sql, environment: environment).result.get(), try await run(file: sql, environment: environment).result.get())
        let keys = receiver.requests.compactMap { $0.headers["idempotency-key"] }
        #expect(keys.count == 6)
        #expect(Array(keys[0..<3]) == Array(keys[3..<6]))
        #expect(Set(keys[0..<3]).count == 3)
        #expect(keys[0] == "edge:2026-11-22T08:00:00Z/2026-11-22T09:00:00Z:1")
    }

    @Test func anEndpointThatKeepsFailingOpensItsBreakerAndLaterRunsFailFast() async throws {
        let (directory, database, sql) = try await fixture(rows: 5)
        let receiver = try await RecordingReceiver.start(statuses: ["503"])
        var breaker = CircuitBreaker.Configuration()
        breaker.minimumCalls = 3
        breaker.openDuration = .seconds(3600)  // still open for the second run, however slow the machine
        let breakerLog = MemoryLineWriter()
        let dependencies = Dependencies(breaker: breaker, logger: LogSetup(format: .json, level: .info, writer: breakerLog, redactor: Redactor())
            .makeLogger(label: "taskshim.dependencies"))
        let environment = ["DATABASE_URL": "sqlite:\(database)", "TELEMETRY_URL": receiver.url, "TASKSHIM_RETRY_BASE_MS": "10",
                           "TASKSHIM_HTTP_ATTEMPTS": "10"]
        let first = await run(file: sql, environment: environment, dependencies: dependencies)
        guard case .failure(let error) = first.result else { Issue.record("the first run succeeded against a 503 endpoint"); return }
        #expect(error.status == .temporaryFailure)
        #expect(receiver.requests.count == 3, "the third 503 opens the breaker: no fourth call")
        #expect(breakerLog.lines.contains { $0.contains("circuit breaker opened") && $0.contains("\"to\":\"open\"") })
        // The next run (a Lambda warm start, the next request of runtime serve) fails at once.
        let second = await run(file: sql, environment: environment, dependencies: dependencies)
        guard case .failure(let fast) = second.result else { Issue.record("the second run succeeded"); return }
        #expect(fast.message.contains("circuit breaker for http://127.0.0.1:\(receiver.port) is open"), "\(fast.message)")
        #expect(receiver.requests.count == 3)
        _ = directory
    }

    @Test func a503IsRetriedWithTheSameBatchAndKey() async throws {
        let (directory, database, sql) = try await fixture(rows: 5)
        let receiver = try await RecordingReceiver.start(statuses: ["503", "200"])
        let run = await run(file: sql, environment: ["DATABASE_URL": "sqlite:\(database)", "TELEMETRY_URL": receiver.url,
                                                     "TASKSHIM_RETRY_BASE_MS": "10"])
        _ = (directory, try run.result.get())
        let requests = receiver.requests
        #expect(requests.count == 2)
        #expect(requests[0].body == requests[1].body)
        #expect(requests[0].headers["idempotency-key"] == requests[1].headers["idempotency-key"])
        #expect(run.logs.lines.contains { $0.contains("retrying") })
        #expect(run.metrics["records_sent"] == 5)
    }

    @Test func persistentFailureEndsAsTemporaryAfterTheAttempts() async throws {
        let (directory, database, sql) = try await fixture(rows: 5)
        let receiver = try await RecordingReceiver.start(statuses: ["500"])
        let run = await run(file: sql, environment: ["DATABASE_URL": "sqlite:\(database)", "TELEMETRY_URL": receiver.url,
                                                     "TASKSHIM_RETRY_BASE_MS": "5", "TASKSHIM_HTTP_ATTEMPTS": "3"])
        _ = directory
        guard case .failure(let error) = run.result else { Issue.record("expected a failure"); return }
        #expect(error.status == .temporaryFailure)
        #expect(error.message.contains("500"))
        #expect(receiver.requests.count == 3)
    }

    @Test(arguments: [("400", TaskShimCore.ExitStatus.unavailable), ("401", .noPermission), ("403", .noPermission), ("404", .unavailable)])
    func clientErrorsAreNotRetried(_ status: String, _ expected: TaskShimCore.ExitStatus) async throws {
        let (directory, database, sql) = try await fixture(rows: 5)
        let receiver = try await RecordingReceiver.start(statuses: [status])
        let run = await run(file: sql, environment: ["DATABASE_URL": "sqlite:\(database)", "TELEMETRY_URL": receiver.url, "TASKSHIM_RETRY_BASE_MS": "5"])
        _ = directory
        guard case .failure(let error) = run.result else { Issue.record("expected a failure"); return }
        #expect(error.status == expected)
        #expect(receiver.requests.count == 1)
    }

    @Test func endpointDownIsTemporary() async throws {
        let (directory, database, sql) = try await fixture(rows: 2)
        let run = await run(file: sql, environment: ["DATABASE_URL": "sqlite:\(database)", "TELEMETRY_URL": "http://127.0.0.1:\(closedPort())/x",
                                                     "TASKSHIM_RETRY_BASE_MS": "5", "TASKSHIM_HTTP_ATTEMPTS": "2"])
        _ = directory
        guard case .failure(let error) = run.result else { Issue.record("expected a failure"); return }
        #expect(error.status == .temporaryFailure)
    }

    @Test func dryRunPrintsRecordsAndSendsNothing() async throws {
        let (directory, database, sql) = try await fixture(rows: 4)
        let receiver = try await RecordingReceiver.start()
        let run = await run(file: sql, environment: ["DATABASE_URL": "sqlite:\(database)", "TELEMETRY_URL": receiver.url], dryRun: true,
                            payload: #"{"stream_name":"from-event"}"#)
        _ = (directory, try run.result.get())
        #expect(receiver.requests.isEmpty)
        #expect(run.output.lines.count == 4)
        let first = try #require(JSONSerialization.jsonObject(with: Data(run.output.lines[0].utf8)) as? [String: Any])
        #expect(first["telemetry-stream"] as? String == "from-event")
    }

    @Test func badRowsAreSkippedCountedAndLogged() async throws {
        let (directory, database, sql) = try await fixture(rows: 100, badEvery: 4)
        let run = await run(file: sql, environment: ["DATABASE_URL": "sqlite:\(database)"], dryRun: true)
        _ = (directory, try run.result.get())
        #expect(run.metrics["rows_read"] == 100)
        #expect(run.metrics["rows_rejected"] == 25)
        #expect(run.output.lines.count == 75)
        let warnings = run.logs.lines.filter { $0.contains("row skipped") }
        #expect(warnings.count == 10)
        #expect(warnings[0].contains("n/a"))
        // Rows 1, 5, 9, ... (1-based) hold the bad values.
        #expect(warnings[0].contains(#""row":1"#))
        #expect(warnings[1].contains(#""row":5"#))
        #expect(run.logs.lines.contains { $0.contains("more rows skipped") })
    }

    @Test func eventWindowOverridesTheDefault() async throws {
        let (directory, database, _) = try await fixture(rows: 1)
        let sql = try directory.write("w.sql", "SELECT 'e' AS element_name, :window_end AS timestamp, 'f' AS filter, :window_end_epoch - :window_start_epoch AS value")
        let run = await run(file: sql, environment: ["DATABASE_URL": "sqlite:\(database)"], dryRun: true,
                            payload: #"{"start":"2026-01-01T00:00:00Z","end":"2026-01-01T06:00:00Z"}"#, interval: nil)
        _ = try run.result.get()
        let record = try #require(JSONSerialization.jsonObject(with: Data(run.output.lines[0].utf8)) as? [String: Any])
        #expect(record["value"] as? Double == 21_600)
        #expect(record["timestamp"] as? String == "2026-01-01T06:00:00Z")
    }

    @Test func theEmbeddedDemoDatabaseAnswersTheDefaultWindow() async throws {
        let directory = try TemporaryDirectory()
        let output = MemoryLineWriter()
        let env = Environment(["TASKSHIM_DATA_DIR": directory.path])
        let context = HandlerContext(logger: Logger(label: "t", factory: { _ in SwiftLogNoOpLogHandler() }), environment: env,
                                     secrets: EnvironmentSecrets(environment: env, redactor: Redactor()), output: output)
        let handler = SQLTelemetryHandler(file: RepositoryPaths.path("handlers/SQLTelemetry/examples/demo.sql"))
        _ = try await handler.handle(Invocation(trigger: .command, dryRun: true), context: context)
        #expect(output.lines.count == 9)
        #expect(FileManager.default.fileExists(atPath: directory.file("demo.sqlite")))
        // A second run tops up rather than duplicating.
        _ = try await handler.handle(Invocation(trigger: .command, dryRun: true), context: context)
        #expect(output.lines.count == 18)
        #expect(Array(output.lines[0..<9]) == Array(output.lines[9..<18]))
    }

    @Test func inputErrorsHaveTheirExitCodes() async throws {
        let directory = try TemporaryDirectory()
        let empty = try directory.write("empty.sql", "  \n")
        let broken = try directory.write("broken.sql", "SELECT element_name,\n FROM")
        let wrongColumns = try directory.write("cols.sql", "SELECT 1 AS a")
        let env = ["TASKSHIM_DATA_DIR": directory.path]
        func status(_ file: String, _ extra: [String: String] = [:], dryRun: Bool = true, payload: String = "") async -> TaskShimCore.ExitStatus? {
            if case .failure(let error) = await run(file: file, environment: env.merging(extra) { $1 }, dryRun: dryRun, payload: payload).result {
                return error.status
            }
            return nil
        }
        #expect(await status(directory.file("missing.sql")) == .noInput)
        #expect(await status(directory.path + "/") == .noInput)
        #expect(await status(empty) == .dataError)
        #expect(await status(broken) == .dataError)
        #expect(await status(wrongColumns) == .dataError)
        #expect(await status(wrongColumns, payload: "not json") == .dataError)
        #expect(await status(wrongColumns, payload: #"{"start":"2026-01-02T00:00:00Z","end":"2026-01-01T00:00:00Z"}"#) == .dataError)
        #expect(await status(wrongColumns, payload: #"{"stream_name":5}"#) == .dataError)
        #expect(await status(wrongColumns, dryRun: false) == .configuration)  // no TELEMETRY_URL
        #expect(await status(wrongColumns, ["MAX_RECORDS_PER_CALL": "0"]) == .configuration)
        #expect(await status(wrongColumns, ["TELEMETRY_URL": "ftp://x"]) == .configuration)
        #expect(await status(wrongColumns, ["DATABASE_URL": "sqlite:\(directory.file("nope.sqlite"))"]) == .noInput)
    }
}

/// The handler against the real local PostgreSQL.
@Suite(.serialized) struct SQLTelemetryPostgresTests {
    @Test func theExampleQueryAggregatesTheWindowFromPostgres() async throws {
        let url = try TestServers.postgresURL()
        let database = try await PostgresConnection.connect(url: url)
        _ = try await database.all("DROP TABLE IF EXISTS measurements")
        _ = try await database.all("CREATE TABLE measurements (element_name text, ts timestamptz, filter text, value double precision)")
        // Two elements, readings at 07:30, 08:00, 08:30, 09:00: only 08:00 and 08:30 are inside 08:00-09:00.
        _ = try await database.all("""
            INSERT INTO measurements
            SELECT e, :start::timestamptz + (n * interval '30 minutes'), 'cpu', n * 10
            FROM unnest(ARRAY['r1', 'r2']) e, generate_series(0, 3) n
            """, parameters: ["start": .text("2026-11-22T07:30:00Z")])
        let output = MemoryLineWriter()
        let env = Environment(["DATABASE_URL": url])
        let context = HandlerContext(logger: Logger(label: "t", factory: { _ in SwiftLogNoOpLogHandler() }), environment: env,
                                     secrets: EnvironmentSecrets(environment: env, redactor: Redactor()), output: output)
        let handler = SQLTelemetryHandler(file: RepositoryPaths.path("handlers/SQLTelemetry/examples/postgres-hourly.sql"))
        _ = try await handler.handle(Invocation(trigger: .command, dataInterval: SQLTelemetryHandlerTests.window, dryRun: true), context: context)
        let records = try output.lines.map { try #require(JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]) }
        #expect(records.count == 2)
        #expect(records.map { $0["element-name"] as? String } == ["r1", "r2"])
        #expect(records.allSatisfy { $0["value"] as? Double == 15 && $0["timestamp"] as? String == "2026-11-22T08:00:00Z" })
        #expect(records.allSatisfy { $0["telemetry-stream"] as? String == "postgres-hourly" })
        _ = try await database.all("DROP TABLE measurements")
    }

    @Test func aSQLErrorShowsTheServerMessageAndLine() async throws {
        let url = try TestServers.postgresURL()
        let directory = try TemporaryDirectory()
        let file = try directory.write("bad.sql", "SELECT element_name,\n       no_such_column\nFROM pg_class")
        let env = Environment(["DATABASE_URL": url])
        let context = HandlerContext(logger: Logger(label: "t", factory: { _ in SwiftLogNoOpLogHandler() }), environment: env,
                                     secrets: EnvironmentSecrets(environment: env, redactor: Redactor()), output: MemoryLineWriter())
        do {
            _ = try await SQLTelemetryHandler(file: file).handle(Invocation(trigger: .command, dryRun: true), context: context)
            Issue.record("expected an error")
        } catch let error as TaskShimError {
            #expect(error.status == .dataError)
            #expect(error.message.contains("element_name"))
            #expect(error.message.contains("line 1"))
            #expect(error.message.contains("42703"))
        }
    }
}
