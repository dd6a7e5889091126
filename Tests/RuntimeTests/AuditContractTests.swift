import Foundation
import Testing
import TestSupport
@testable import TaskShim

extension ProcessDrivingTests {
/// The audit trail of the `runtime` binary: one event per run, through every sink, surviving a kill.
@Suite struct AuditContractTests {
    static let secret = "whsec_" + Data((0..<24).map { UInt8($0 * 5 % 256) }).base64EncodedString()
    /// A secret that must never be printed: the HEC token.
    let canary = Canary.value

    func environment(_ receiver: AuditReceiver, spool: TemporaryDirectory) -> [String: String] {
        ["SPLUNK_HEC_URL": receiver.hecURL, "SPLUNK_HEC_TOKEN": canary,
         "AUDIT_WEBHOOK_URL": receiver.webhookURL, "AUDIT_WEBHOOK_SECRET": receiver.secret,
         "TASKSHIM_AUDIT_SPOOL_DIR": spool.path, "TASKSHIM_AUDIT_MAX_BACKOFF": "0.2", "TASKSHIM_BREAKER_OPEN": "1",
         "TASKSHIM_LOG_FORMAT": "json"]
    }

    @Test func aServerKilledDuringAnOutageDeliversItsEventsOnTheNextStart() async throws {
        let receiver = try AuditReceiver(token: canary, secret: Self.secret)  // down
        let spool = try TemporaryDirectory()
        let port = closedPort()
        let server = try BackgroundRuntime(environment: environment(receiver, spool: spool).merging(["FUNCTION_TARGET": "echo", "PORT": String(port)]) { a, _ in a },
                                           arguments: ["serve"])
        let deadline = Date().addingTimeInterval(20)
        while !LambdaEmulator.accepts(port) && Date() < deadline { try await Task.sleep(for: .milliseconds(20)) }
        for n in 0..<5 {
            let response = try await HTTPClient().send(HTTPRequest(method: "POST", url: "http://127.0.0.1:\(port)/\(n)", body: Data("{}".utf8)))
            #expect(response.status == 200)
        }
        // Killed once delivery has been tried and failed: mid-outage.
        #expect(try await server.waitForLog("audit delivery failed; events stay in the spool"))
        server.signal(SIGKILL)
        _ = await server.waitForExit(timeout: 10)
        #expect(server.wasKilledBySignal)

        try await receiver.bringUp()
        let next = try await runProcessAsync(RepositoryPaths.runtimeBinary, ["exec", "echo", "--event", "{}"],
                                             environment: environment(receiver, spool: spool))
        #expect(next.status == 0, "\(next.stderr)")
        for sink in ["splunk", "webhook"] {
            let events = try await receiver.waitForEvents(sink: sink, count: 6)
            let audit = events.compactMap { $0["event"] as? [String: Any] }
            #expect(audit.count == 6, "\(sink): \(audit)")
            #expect(Set(audit.compactMap { $0["id"] as? String }).count == audit.count, "each event once")
            #expect(audit.map { $0["trigger"] as? String ?? "" } == ["http", "http", "http", "http", "http", "command"], "in order")
            #expect(audit.allSatisfy { $0["action"] as? String == "invocation" && $0["handler"] as? String == "echo" && $0["outcome"] as? String == "ok" })
        }
        for output in [server.stdout, server.stderr, next.stdout, next.stderr] {
            #expect(!output.contains(canary), "the HEC token was printed")
        }
        #expect(next.stdout.contains("audit events from an earlier run are waiting"))
    }

    @Test func secretsInAnErrorStayOutOfTheTrail() async throws {
        let directory = try TemporaryDirectory()
        let file = directory.file("audit.jsonl")
        let demo = RepositoryPaths.path("handlers/SQLTelemetry/examples/demo.sql")
        let result = try await runProcessAsync(RepositoryPaths.runtimeBinary, ["exec", demo],
                                               environment: ["AUDIT_LOG_TO_FILE": file, "TELEMETRY_URL": "ftp://user:\(canary)@example.invalid/x"],
                                               directory: directory.path)
        #expect(result.status != 0)
        let trail = try String(contentsOfFile: file, encoding: .utf8)
        #expect(trail.contains("example.invalid"), "the error is in the event: \(trail)")
        #expect(!trail.contains(canary))
    }

    @Test func handlersRecordEventsOfTheirOwnBeforeTheRunsOwn() async throws {
        let directory = try TemporaryDirectory()
        let file = directory.file("audit.jsonl")
        let result = try await runProcessAsync(RepositoryPaths.embeddedRuntimeBinary, ["exec", "audit-burst", "--event", #"{"count":3}"#],
                                               environment: ["AUDIT_LOG_TO_FILE": file])
        #expect(result.status == 0, "\(result.stderr)")
        let events = try String(contentsOfFile: file, encoding: .utf8).split(separator: "\n")
            .compactMap { try JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
        #expect(events.map { $0["action"] as? String ?? "" } == ["bench.recorded", "bench.recorded", "bench.recorded", "invocation"])
        #expect(events.prefix(3).map { $0["n"] as? Int } == [0, 1, 2])
        #expect(events.last?["handler"] as? String == "audit-burst")
    }

    @Test func stdoutAndFileSinksWriteOneEventPerRun() async throws {
        let directory = try TemporaryDirectory()
        let file = directory.file("audit.jsonl")
        let env = ["AUDIT_LOG_STDOUT": "true", "AUDIT_LOG_TO_FILE": file, "TASKSHIM_LOG_FORMAT": "json"]
        let ok = try await runProcessAsync(RepositoryPaths.runtimeBinary, ["exec", "echo", "--event", "{}", "--attempt", "2"], environment: env)
        let failed = try await runProcessAsync(RepositoryPaths.runtimeBinary, ["exec", "no-such-file.sql"], environment: env)
        #expect(ok.status == 0)
        #expect(failed.status != 0)
        let stdoutEvent = try #require(ok.stdoutLines.compactMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
            .first { $0["log_type"] as? String == "audit" })
        #expect(stdoutEvent["handler"] as? String == "echo")
        #expect(stdoutEvent["attempt"] as? Int == 2)
        let lines = try String(contentsOfFile: file, encoding: .utf8).split(separator: "\n")
        #expect(lines.count == 2, "\(lines)")
        let event = try #require(try JSONSerialization.jsonObject(with: Data(lines[0].utf8)) as? [String: Any])
        let failure = try #require(try JSONSerialization.jsonObject(with: Data(lines[1].utf8)) as? [String: Any])
        #expect(failure["outcome"] as? String == "no_input")
        #expect((failure["error"] as? String)?.contains("no-such-file.sql") == true)
        #expect(event["id"] as? String == stdoutEvent["id"] as? String)
        for key in ["time", "action", "handler", "trigger", "logical_time", "attempt", "outcome", "exit_code", "duration_ms", "request_id", "idempotency_key"] {
            #expect(event[key] != nil, "\(key) missing from \(event)")
        }
    }
}
}
