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

    @Test func theHandlersOwnLinesCarryTheRunsIdsAndAReplacedLoggerStaysReplaced() async throws {
        let (runner, writer) = runner()
        let handler = ClosureHandler(name: "talk") { _, context in
            context.logger.warning("from the handler")
            var changed = context
            changed.logger[metadataKey: "step"] = "load"
            changed.logger.warning("with a step")
            var other = context
            other.logger = Logger(label: "quiet") { _ in SwiftLogNoOpLogHandler() }
            other.logger.warning("nowhere")
            return Data()
        }
        _ = await runner.run(handler, Invocation(trigger: .command, attempt: 3, requestID: "req-9", traceID: "t-1"))
        let lines = try writer.lines.map { try #require(JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]) }
        #expect(lines.map { $0["message"] as? String } == ["from the handler", "with a step", "run finished"])
        for line in lines {
            #expect(line["handler"] as? String == "talk")
            #expect(line["request_id"] as? String == "req-9")
            #expect(line["attempt"] as? Int == 3)
            #expect(line["trace_id"] as? String == "t-1")
        }
        #expect(lines[1]["step"] as? String == "load")
        #expect(lines[0]["step"] == nil && lines[2]["step"] == nil, "a change to one copy's logger stays in that copy")
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

    /// With `.callerCancels` the handler runs in the calling task, which its owner cancels at the
    /// deadline: the run fails as timed out, like one the runner cancelled.
    @Test func aRunWhoseOwnerCancelsItPastTheDeadlineFailsAsTimedOut() async throws {
        let (runner, _) = runner()
        let started = Counter()
        let handler = ClosureHandler(name: "slow") { _, _ in
            _ = started.next()
            try? await Task.sleep(for: .seconds(30))
            return Data("ignored the cancellation".utf8)
        }
        let deadline = Date().addingTimeInterval(0.2)
        let run = Task { await runner.run(handler, Invocation(trigger: .http, deadline: deadline), deadline: .callerCancels) }
        while started.count == 0 { try await Task.sleep(for: .milliseconds(10)) }
        try await Task.sleep(until: .now + .seconds(deadline.timeIntervalSinceNow + 0.05))
        run.cancel()
        let outcome = await run.value
        #expect(outcome.status == .temporaryFailure)
        #expect(outcome.error?.message.contains("deadline") == true)
    }

    /// Cancelled before its deadline (a server draining on SIGTERM), the run ends with the handler's
    /// own result; never cancelled, it is not timed by the runner at all.
    @Test func aRunCancelledBeforeItsDeadlineKeepsTheHandlersResult() async throws {
        let (runner, _) = runner()
        let started = Counter()
        let handler = ClosureHandler(name: "slow") { _, _ in
            _ = started.next()
            try await Task.sleep(for: .seconds(30))
            return Data()
        }
        let run = Task { await runner.run(handler, Invocation(trigger: .http, deadline: Date().addingTimeInterval(60)), deadline: .callerCancels) }
        while started.count == 0 { try await Task.sleep(for: .milliseconds(10)) }
        run.cancel()
        let outcome = await run.value
        #expect(outcome.error != nil)
        #expect(outcome.error?.message.contains("deadline") == false)

        let quick = ClosureHandler(name: "quick") { _, _ in
            try await Task.sleep(for: .milliseconds(300))
            return Data("done".utf8)
        }
        let late = await runner.run(quick, Invocation(trigger: .http, deadline: Date().addingTimeInterval(0.05)), deadline: .callerCancels)
        #expect(late.status == .ok, "the caller did not cancel it: its result stands")
    }
}
