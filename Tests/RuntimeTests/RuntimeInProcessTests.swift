import Foundation
import Testing
import TestSupport
@testable import TaskShim

/// The `Runtime` entry point as an embedder calls it, with its own handler and in-memory output.
struct RuntimeInProcessTests {
    struct Greeter: Handler {
        let name = "greet"
        func handle(_ invocation: Invocation, context: HandlerContext) async throws -> Data {
            let who = try invocation.jsonObject()["name"]?.string ?? "world"
            context.metrics.add("greetings")
            return Data("hello \(who)".utf8)
        }
    }

    @Test func embeddersRegisterHandlersAndGetTheCLI() async throws {
        var registry = HandlerRegistry.builtIn
        registry.register(Greeter())
        let out = MemoryLineWriter(), err = MemoryLineWriter()
        let io = Runtime.IO(environment: Environment(["TASKSHIM_LOG_FORMAT": "json"]), standardOutput: out, standardError: err, isTerminal: false)
        let status = await Runtime(registry: registry).run(arguments: ["exec", "greet", "--event", #"{"name":"ops"}"#, "--output", "-"], io: io)
        #expect(status == 0)
        #expect(out.lines.contains("hello ops"))
        let summary = try #require(out.lines.first { $0.contains("run finished") })
        #expect(summary.contains(#""greetings":1"#))
        #expect(summary.contains(#""handler":"greet""#))

        let list = MemoryLineWriter()
        _ = await Runtime(registry: registry).run(arguments: ["list"], io: Runtime.IO(environment: Environment([:]), standardOutput: list,
                                                                                       standardError: err, isTerminal: false))
        #expect(list.lines == ["echo", "greet", "*.sql"])
    }

    @Test func cloudRunJobAttemptsCountFromOne() async throws {
        let out = MemoryLineWriter()
        let io = Runtime.IO(environment: Environment(["CLOUD_RUN_TASK_ATTEMPT": "2", "TASKSHIM_LOG_FORMAT": "json"]),
                            standardOutput: out, standardError: MemoryLineWriter(), isTerminal: false)
        #expect(await Runtime().run(arguments: ["exec", "echo"], io: io) == 0)
        #expect(out.lines.last?.contains(#""attempt":3"#) == true)
    }

    /// Records what the handler was given.
    final class Recorder: Handler, @unchecked Sendable {
        let name = "record"
        var seen: [Invocation] = []
        func handle(_ invocation: Invocation, context: HandlerContext) async throws -> Data {
            seen.append(invocation)
            return Data()
        }
    }

    @Test func aCloudRunJobTaskKeepsItsIdempotencyKeyAcrossAttempts() async throws {
        let recorder = Recorder()
        var registry = HandlerRegistry.builtIn
        registry.register(recorder)
        for attempt in ["0", "1"] {
            let io = Runtime.IO(environment: Environment([
                "CLOUD_RUN_JOB": "nightly", "CLOUD_RUN_EXECUTION": "nightly-abc12", "CLOUD_RUN_TASK_INDEX": "3",
                "CLOUD_RUN_TASK_COUNT": "8", "CLOUD_RUN_TASK_ATTEMPT": attempt, "TASKSHIM_LOG_FORMAT": "json",
            ]), standardOutput: MemoryLineWriter(), standardError: MemoryLineWriter(), isTerminal: false)
            #expect(await Runtime(registry: registry).run(arguments: ["exec", "record"], io: io) == 0)
        }
        #expect(recorder.seen.map(\.idempotencyKey) == ["nightly-abc12/3", "nightly-abc12/3"])
        #expect(recorder.seen.map(\.attempt) == [1, 2])
        #expect(recorder.seen.map(\.requestID) == ["nightly-abc12/3/1", "nightly-abc12/3/2"])
        let attributes = try #require(recorder.seen.first?.attributes)
        #expect(attributes["cloud_run_task_index"] == "3")
        #expect(attributes["cloud_run_task_count"] == "8")
        #expect(attributes["cloud_run_job"] == "nightly")
        #expect(attributes["cloud_run_execution"] == "nightly-abc12")
    }
}
