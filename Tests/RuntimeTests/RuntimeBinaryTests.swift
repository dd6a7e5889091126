import Foundation
import Testing
import TestSupport

extension ProcessDrivingTests {
/// Runs the built `runtime` binary the way a user, cron or a container would.
@Suite struct RuntimeBinaryTests {
    let demo = RepositoryPaths.path("handlers/SQLTelemetry/examples/demo.sql")

    func runtime(_ arguments: [String], _ environment: [String: String] = [:], in directory: TemporaryDirectory? = nil,
                 input: Data? = nil) async throws -> ProcessResult {
        try await runProcessAsync(RepositoryPaths.runtimeBinary, arguments, environment: environment, directory: directory?.path, input: input)
    }

    func json(_ line: String) -> [String: Any]? {
        try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any]
    }

    @Test func demoDryRunPrintsRecordsOnStdoutAndLogsOnStderr() async throws {
        let directory = try TemporaryDirectory()
        let result = try await runtime(["exec", demo, "--dry-run"], in: directory)
        #expect(result.status == 0, "\(result.stderr)")
        let records = result.stdoutLines.compactMap(json)
        #expect(records.count == 9)
        #expect(result.stdoutLines.count == 9)
        #expect(records.allSatisfy { $0["granularity"] as? String == "hourly" && $0["telemetry-stream"] as? String == "demo" })
        let summary = try #require(result.stderrLines.compactMap(json).last)
        #expect(summary["message"] as? String == "run finished")
        #expect(summary["exit_code"] as? Int == 0)
        #expect(summary["records_printed"] as? Int == 9)
        #expect(summary["trigger"] as? String == "command")
    }

    @Test func sendsToTheEndpointWithoutLeakingTheKey() async throws {
        let directory = try TemporaryDirectory()
        let receiver = try await RecordingReceiver.start()
        let canary = "canary-secret-\(UUID().uuidString)"
        let result = try await runtime(["exec", demo, "--stream-name", "nightly", "--log-level", "debug"],
                                 ["TELEMETRY_URL": receiver.url, "TELEMETRY_API_KEY": canary,
                                  "DATABASE_URL_UNUSED": "postgres://u:\(canary)@h/db"], in: directory)
        #expect(result.status == 0, "\(result.stdout)\(result.stderr)")
        let requests = receiver.requests
        #expect(requests.count == 1)
        #expect(requests.first?.headers["authorization"] == canary)
        #expect(requests.first?.records.count == 9)
        #expect(requests.first?.records.allSatisfy { $0["telemetry-stream"] as? String == "nightly" } == true)
        #expect(!result.stdout.contains(canary) && !result.stderr.contains(canary))
        let summary = try #require(result.stdoutLines.compactMap(json).last)
        #expect(summary["records_sent"] as? Int == 9)
        #expect(summary["batches_sent"] as? Int == 1)
    }

    @Test func explicitWindowIsUsed() async throws {
        let directory = try TemporaryDirectory()
        let sql = try directory.write("w.sql", "SELECT 'e' AS element_name, :window_start AS timestamp, 'f' AS filter, 1 AS value")
        let result = try await runtime(["exec", sql, "--dry-run", "--start", "2026-03-01T10:00:00Z", "--end", "2026-03-01T11:00:00Z"], in: directory)
        #expect(result.status == 0, "\(result.stderr)")
        #expect(json(result.stdoutLines.first ?? "")?["timestamp"] as? String == "2026-03-01T10:00:00Z")
    }

    @Test func logicalTimeDrivesTheDefaultWindow() async throws {
        let directory = try TemporaryDirectory()
        let sql = try directory.write("w.sql", "SELECT 'e' AS element_name, :window_start AS timestamp, 'f' AS filter, 1 AS value")
        let result = try await runtime(["exec", sql, "--dry-run", "--logical-time", "2026-03-01T10:37:00Z"], ["DATA_LATENCY_HOURS": "2"], in: directory)
        #expect(json(result.stdoutLines.first ?? "")?["timestamp"] as? String == "2026-03-01T07:00:00Z")
    }

    @Test(arguments: [
        (["exec", "/nonexistent/report.sql", "--dry-run"], [String: String](), Int32(66), "does not exist"),
        (["exec", "no-such-handler"], [:], 67, "No handler named 'no-such-handler'"),
        (["exec", "x.sql", "--start", "2026-01-02T00:00:00Z", "--end", "2026-01-01T00:00:00Z"], [:], 64, "is not before"),
        (["exec", "x.sql", "--start", "2026-01-02T00:00:00Z"], [:], 64, "go together"),
        (["exec", "x.sql", "--logical-time", "soon"], [:], 64, "not a date-time"),
        (["exec", "echo", "--log-level", "loud"], [:], 64, "not a log level"),
        (["exec", "echo"], ["AWS_LAMBDA_LOG_LEVEL": "loud"], 78, "AWS_LAMBDA_LOG_LEVEL=loud"),
        (["exec", "./jobs/report"], [:], 67, "looks like a file"),
        (["exec", "echo"], ["LOG_LEVEL": "loud"], 78, "LOG_LEVEL=loud"),
        (["exec", "echo", "--bogus"], [:], 64, "--bogus"),
        (["exec", "echo"], ["SECRETS_PROVIDER": "vault"], 78, "SECRETS_PROVIDER=vault"),
    ])
    func badInputGetsAClearErrorAndItsExitCode(_ arguments: [String], _ environment: [String: String], _ code: Int32, _ message: String) async throws {
        let directory = try TemporaryDirectory()
        let result = try await runtime(arguments, environment, in: directory)
        #expect(result.status == code, "\(result.stderr)")
        #expect(result.stderr.contains(message), "\(result.stderr)")
        #expect(!result.stderr.contains("Fatal error") && !result.stderr.contains("Stack dump"))
    }

    @Test func databaseDownIsATemporaryFailureAfterRetries() async throws {
        let directory = try TemporaryDirectory()
        let url = "postgres://app:\(Canary.value)@127.0.0.1:\(closedPort())/db"
        let result = try await runtime(["exec", demo, "--dry-run"],
                                       ["DATABASE_URL": url, "TASKSHIM_HTTP_ATTEMPTS": "3", "TASKSHIM_RETRY_BASE_MS": "10"], in: directory)
        #expect(result.status == 75)
        #expect(result.stderr.contains("Cannot connect to PostgreSQL"))
        #expect(result.stderr.components(separatedBy: "database call failed; retrying").count - 1 == 2, "\(result.stderr)")
        #expect(!result.stderr.contains(Canary.value))
        // On a Cloud Run job, whose tasks the platform retries, the series is shorter.
        let job = try await runtime(["exec", demo, "--dry-run"],
                                    ["DATABASE_URL": url, "TASKSHIM_HTTP_ATTEMPTS": "3", "TASKSHIM_RETRY_BASE_MS": "10",
                                     "CLOUD_RUN_JOB": "nightly", "CLOUD_RUN_EXECUTION": "nightly-x1", "CLOUD_RUN_TASK_ATTEMPT": "1"], in: directory)
        #expect(job.status == 75)
        #expect(job.stderr.components(separatedBy: "database call failed; retrying").count - 1 == 1, "\(job.stderr)")
        #expect(job.stderr.contains("attempt=2") || job.stderr.contains(#""attempt":2"#), "the platform's attempt on every line: \(job.stderr)")
    }

    @Test func errorLinesOnStderrAreRedacted() async throws {
        let directory = try TemporaryDirectory()
        let result = try await runtime(["exec", demo], ["TELEMETRY_URL": "ftp://user:pw-stderr-canary@example.invalid/x"], in: directory)
        #expect(result.status == 78)
        #expect(result.stderr.contains("is not an http(s) URL"))
        #expect(!result.stderr.contains("pw-stderr-canary") && !result.stdout.contains("pw-stderr-canary"))
    }

    @Test func unsupportedDatabaseURLIsAConfigurationError() async throws {
        let directory = try TemporaryDirectory()
        let result = try await runtime(["exec", demo, "--dry-run"], ["DATABASE_URL": "mysql://x/y"], in: directory)
        #expect(result.status == 78)
        #expect(result.stderr.contains("unsupported scheme"))
    }

    @Test func endpointFailingEndsWithExit75AfterRetries() async throws {
        let directory = try TemporaryDirectory()
        let receiver = try await RecordingReceiver.start(statuses: ["503"])
        let result = try await runtime(["exec", demo], ["TELEMETRY_URL": receiver.url, "TASKSHIM_RETRY_BASE_MS": "5",
                                                  "TASKSHIM_HTTP_ATTEMPTS": "3"], in: directory)
        #expect(result.status == 75)
        #expect(receiver.requests.count == 3)
        #expect(result.stderr.contains("answered 503"))
    }

    @Test func timeoutCancelsALongQuery() async throws {
        let url = try TestServers.postgresURL()
        let directory = try TemporaryDirectory()
        let sql = try directory.write("slow.sql", "SELECT 'e' AS element_name, now() AS timestamp, 'f' AS filter, 1 AS value FROM pg_sleep(0.3), generate_series(1, 1000000)")
        let start = Date()
        let result = try await runtime(["exec", sql, "--dry-run", "--timeout", "0.2"], ["DATABASE_URL": url], in: directory)
        #expect(result.status == 75)
        #expect(result.stderr.contains("deadline"))
        // The server was told to cancel: the run does not wait for the query to finish.
        #expect(Date().timeIntervalSince(start) < 5)
    }

    @Test func sigtermMidRunCancelsTheQueryAndExits75() async throws {
        let url = try TestServers.postgresURL()
        let directory = try TemporaryDirectory()
        let marker = "sigterm_probe_\(UInt32.random(in: 0...UInt32.max))"
        let sql = try directory.write("slow.sql", "SELECT '\(marker)' AS element_name, now() AS timestamp, 'f' AS filter, 1 AS value FROM pg_sleep(60)")
        let start = Date()
        let result = try runProcess(RepositoryPaths.runtimeBinary, ["exec", sql, "--dry-run"], environment: ["DATABASE_URL": url],
                                    directory: directory.path) { pid in
            usleep(1_000_000)
            kill(pid, SIGTERM)
        }
        #expect(result.status == 75, "\(result.stderr)")
        #expect(result.stderr.contains("Stopped by SIGTERM"))
        #expect(Date().timeIntervalSince(start) < 10)
        let summary = result.stderrLines.compactMap(json).last
        #expect(summary?["exit_code"] as? Int == 75)
        // Nothing is left running on the server.
        let check = try runProcess("/usr/bin/env", ["psql", "-X", "-tA", url, "-c",
                                                    "SELECT count(*) FROM pg_stat_activity WHERE query LIKE '%\(marker)%' AND pid <> pg_backend_pid()"])
        #expect(check.stdout.trimmingCharacters(in: .whitespacesAndNewlines) == "0")
    }

    @Test func testConnectionReportsEachDependency() async throws {
        let directory = try TemporaryDirectory()
        let receiver = try await RecordingReceiver.start()
        let good = try await runtime(["exec", demo, "--test-connection"], ["TELEMETRY_URL": receiver.url, "TELEMETRY_API_KEY": "k-1234"], in: directory)
        #expect(good.status == 0, "\(good.stdout)\(good.stderr)")
        #expect(good.stdoutLines.filter { $0.hasPrefix("ok") }.count == 2)
        #expect(receiver.requests.first?.headers["authorization"] == "k-1234")
        #expect(!good.stdout.contains("k-1234"))

        let down = try await runtime(["exec", demo, "--test-connection"], ["TELEMETRY_URL": "http://127.0.0.1:\(closedPort())/"], in: directory)
        #expect(down.status == 75)
        #expect(down.stdoutLines.contains { $0.hasPrefix("FAIL telemetry endpoint") })
        #expect(down.stdoutLines.contains { $0.hasPrefix("ok   database") })

        let refusing = try await RecordingReceiver.start(statuses: ["401"])
        let rejected = try await runtime(["exec", demo, "--test-connection"], ["TELEMETRY_URL": refusing.url], in: directory)
        #expect(rejected.status == 77)

        let unset = try await runtime(["exec", demo, "--test-connection"], in: directory)
        #expect(unset.status == 78)
    }

    @Test func testConnectionDoesNotCreateTheDemoDatabase() async throws {
        let directory = try TemporaryDirectory()
        let receiver = try await RecordingReceiver.start()
        let result = try await runtime(["exec", demo, "--test-connection"], ["TELEMETRY_URL": receiver.url], in: directory)
        #expect(result.status == 0)
        #expect(result.stdout.contains("created on the first run"))
        #expect(!FileManager.default.fileExists(atPath: directory.file(".taskshim/demo.sqlite")))
    }

    @Test func echoReadsTheEventFromAFileOrStdin() async throws {
        let directory = try TemporaryDirectory()
        let file = try directory.write("event.json", #"{"from":"file"}"#)
        let fromFile = try await runtime(["exec", "echo", "--event", "@\(file)", "--output", "-"], ["TASKSHIM_LOG_FORMAT": "json"], in: directory)
        #expect(fromFile.stdoutLines.contains(#"{"from":"file"}"#))
        let fromStdin = try await runtime(["exec", "echo", "--event", "-", "--output", directory.file("out.json")], in: directory,
                                    input: Data(#"{"from":"stdin"}"#.utf8))
        #expect(fromStdin.status == 0)
        #expect(try String(contentsOfFile: directory.file("out.json"), encoding: .utf8) == #"{"from":"stdin"}"#)
    }

    @Test func platformLogFormatsAreSelectedFromTheEnvironment() async throws {
        let directory = try TemporaryDirectory()
        let gcp = try await runtime(["exec", "echo"], ["K_SERVICE": "svc", "GOOGLE_CLOUD_PROJECT": "p"], in: directory)
        let line = try #require(gcp.stdoutLines.compactMap(json).last)
        #expect(line["severity"] as? String == "INFO")
        #expect((line["logging.googleapis.com/labels"] as? [String: String])?["handler"] == "echo")
        let text = try await runtime(["exec", "echo"], ["TASKSHIM_LOG_FORMAT": "text"], in: directory)
        #expect(text.stdout.contains("INFO  run finished"))
    }

    @Test func listVersionAndHelpAnswer() async throws {
        let list = try await runtime(["list"])
        #expect(list.stdoutLines == ["echo", "*.sql"])
        let version = try await runtime(["version"])
        #expect(version.stdoutLines.first?.hasPrefix("runtime ") == true)
        #expect(version.stdout.contains("libpq"))
        let help = try await runtime(["--help"])
        #expect(help.status == 0)
        #expect(help.stdout.contains("exec") && help.stdout.contains("list"))
        let execHelp = try await runtime(["exec", "--help"])
        #expect(execHelp.stdout.contains("--dry-run") && execHelp.stdout.contains("Exit status"))
    }

    /// The C libraries are opened by the runs that call them, not at start-up: the dynamic loader's own
    /// trace (`LD_DEBUG=files`) lists every file it opens.
    @Test func cLibrariesAreLoadedOnlyByTheRunsThatUseThem() async throws {
        func loaded(_ result: ProcessResult) -> Set<String> {
            Set(["libcurl", "libpq", "libsqlite3", "libcrypto", "libhiredis"].filter { result.stderr.contains("file=\($0).so") })
        }
        let echo = try await runtime(["exec", "echo", "--event", "{}"], ["LD_DEBUG": "files"])
        #expect(echo.status == 0, "\(echo.stderr.suffix(2000))")
        #expect(echo.stderr.contains("file=libc.so.6"), "the trace is on")
        #expect(loaded(echo).isEmpty)

        let directory = try TemporaryDirectory()
        let sqlite = try await runtime(["exec", demo, "--dry-run"], ["LD_DEBUG": "files"], in: directory)
        #expect(sqlite.status == 0)
        #expect(loaded(sqlite) == ["libsqlite3"])
    }
}
}
