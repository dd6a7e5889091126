import Foundation
import Logging
import Testing
@testable import TaskShimCore

struct ClosureHandler: Handler {
    let name: String
    let body: @Sendable (Invocation, HandlerContext) async throws -> Data
    func handle(_ invocation: Invocation, context: HandlerContext) async throws -> Data { try await body(invocation, context) }
}

struct RunnerTests {
    func runner() -> (Runner, MemoryLineWriter) {
        let writer = MemoryLineWriter()
        let logger = LogSetup(format: .json, level: .info, writer: writer, redactor: Redactor()).makeLogger(label: "t")
        let environment = Environment([:])
        return (Runner(logger: logger, environment: environment,
                       secrets: EnvironmentSecrets(environment: environment, redactor: Redactor()),
                       output: MemoryLineWriter()), writer)
    }

    func summary(_ writer: MemoryLineWriter) throws -> [String: Any] {
        let line = try #require(writer.lines.last)
        return try #require(JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
    }

    @Test func successWritesOneSummaryLineWithCounters() async throws {
        let (runner, writer) = runner()
        let handler = ClosureHandler(name: "count") { _, context in
            context.metrics.add("rows_read", 5)
            return Data("done".utf8)
        }
        let logical = Timestamp.parse("2026-11-22T09:00:00Z")!
        let outcome = await runner.run(handler, Invocation(trigger: .command, logicalTime: logical, attempt: 2, requestID: "req-1"))
        #expect(outcome.status == .ok)
        #expect(outcome.output == Data("done".utf8))
        let line = try summary(writer)
        #expect(line["message"] as? String == "run finished")
        #expect(line["handler"] as? String == "count")
        #expect(line["trigger"] as? String == "command")
        #expect(line["logical_time"] as? String == "2026-11-22T09:00:00Z")
        #expect(line["attempt"] as? Int == 2)
        #expect(line["request_id"] as? String == "req-1")
        #expect(line["outcome"] as? String == "ok")
        #expect(line["exit_code"] as? Int == 0)
        #expect(line["rows_read"] as? Int == 5)
        #expect(line["duration_ms"] is Double || line["duration_ms"] is Int)
    }

    @Test func failureCarriesTheExitCodeAndMessage() async throws {
        let (runner, writer) = runner()
        let handler = ClosureHandler(name: "fail") { _, _ in throw TaskShimError.temporary("database down") }
        let outcome = await runner.run(handler, Invocation(trigger: .command))
        #expect(outcome.status == .temporaryFailure)
        let line = try summary(writer)
        #expect(line["level"] as? String == "error")
        #expect(line["exit_code"] as? Int == 75)
        #expect(line["outcome"] as? String == "temporary_failure")
        #expect((line["error"] as? String)?.contains("database down") == true)
    }

    @Test func aHandlerPastItsDeadlineIsCancelled() async throws {
        let (runner, writer) = runner()
        let sawCancel = Counter()
        let handler = ClosureHandler(name: "slow") { _, _ in
            do {
                try await Task.sleep(for: .seconds(30))
            } catch {
                _ = sawCancel.next()
                throw error
            }
            return Data()
        }
        let start = Date()
        let outcome = await runner.run(handler, Invocation(trigger: .command, deadline: Date().addingTimeInterval(0.2)))
        #expect(Date().timeIntervalSince(start) < 15, "well before the 30 s sleep, even on a loaded machine")
        #expect(outcome.status == .temporaryFailure)
        #expect(outcome.error?.message.contains("deadline") == true)
        #expect(sawCancel.count == 1)
        #expect(try summary(writer)["exit_code"] as? Int == 75)
    }
}
