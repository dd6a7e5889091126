import Foundation
import Testing
import TaskShimClients
import TestSupport

extension ProcessDrivingTests {
/// `runtime lambda` against cargo-lambda's Runtime API emulator (a real peer) and, for the faults it
/// cannot produce, the fault-injecting API in Tests/Support.
@Suite struct LambdaContractTests {
    static let windowSQL = "SELECT 'element' AS element_name, :window_start AS timestamp, 'f' AS filter, 1 AS value"

    func invoke(_ emulator: LambdaEmulator, _ body: String) async throws -> HTTPResponse {
        try await HTTPClient().send(HTTPRequest(method: "POST", url: emulator.invokeURL, body: Data(body.utf8)))
    }

    func object(_ data: Data) -> [String: Any]? {
        try? JSONSerialization.jsonObject(with: data) as? [String: Any]
    }

    @Test func echoAnswersEveryInvocationWithRequestIdsAndTraces() async throws {
        let emulator = try await LambdaEmulator.start()
        let runtime = try BackgroundRuntime(environment: ["AWS_LAMBDA_RUNTIME_API": emulator.runtimeAPI, "_HANDLER": "echo",
                                                          "AWS_LAMBDA_LOG_FORMAT": "JSON", "AWS_LAMBDA_FUNCTION_NAME": "echo-fn"])
        for index in 1...5 {
            let response = try await invoke(emulator, #"{"n":\#(index)}"#)
            #expect(response.status == 200)
            #expect(String(decoding: response.body, as: UTF8.self) == #"{"n":\#(index)}"#)
        }
        let summaries = runtime.logLines.filter { $0["message"] as? String == "run finished" }
        #expect(summaries.count == 5)
        #expect(Set(summaries.compactMap { $0["requestId"] as? String }).count == 5)
        #expect(summaries.allSatisfy { ($0["trace_id"] as? String)?.hasPrefix("1-") == true })
        #expect(summaries.allSatisfy { $0["trigger"] as? String == "lambda" && $0["level"] as? String == "INFO" })
        #expect(summaries.allSatisfy { $0["function"] as? String == "echo-fn" })
        let platform = runtime.logLines.filter { $0["message"] as? String == "platform detected" }
        #expect(platform.count == 1, "logged once, at start-up")
        #expect(platform.first?["platform"] as? String == "lambda")
    }

    @Test func theBundleBootstrapStartsTheRuntime() async throws {
        let emulator = try await LambdaEmulator.start()
        let bundle = try TemporaryDirectory()
        try FileManager.default.copyItem(atPath: RepositoryPaths.builtExecutable("bootstrap"), toPath: bundle.file("bootstrap"))
        try FileManager.default.createSymbolicLink(atPath: bundle.file("runtime"), withDestinationPath: RepositoryPaths.runtimeBinary)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: bundle.file("bootstrap"))
        process.environment = ["AWS_LAMBDA_RUNTIME_API": emulator.runtimeAPI, "_HANDLER": "echo", "LAMBDA_TASK_ROOT": bundle.path,
                               "PATH": "/usr/bin:/bin"]
        process.standardOutput = FileHandle(forWritingAtPath: "/dev/null")
        try process.run()
        defer {
            kill(process.processIdentifier, SIGKILL)
            waitForExit(process)
        }
        let response = try await invoke(emulator, #"{"via":"bootstrap"}"#)
        #expect(String(decoding: response.body, as: UTF8.self) == #"{"via":"bootstrap"}"#)
    }

    @Test func noArgumentsInsideLambdaMeansServe() async throws {
        let emulator = try await LambdaEmulator.start()
        let runtime = try BackgroundRuntime(environment: ["AWS_LAMBDA_RUNTIME_API": emulator.runtimeAPI, "_HANDLER": "echo"])
        let response = try await invoke(emulator, #"{"auto":true}"#)
        #expect(String(decoding: response.body, as: UTF8.self) == #"{"auto":true}"#)
        _ = runtime
    }

    @Test func handlerFailureIsPostedAsALambdaError() async throws {
        let emulator = try await LambdaEmulator.start()
        let root = try TemporaryDirectory()
        try root.write("window.sql", Self.windowSQL)
        // No TELEMETRY_URL: the SQL handler fails with a configuration error.
        let runtime = try BackgroundRuntime(environment: ["AWS_LAMBDA_RUNTIME_API": emulator.runtimeAPI, "_HANDLER": "window.sql",
                                                          "LAMBDA_TASK_ROOT": root.path])
        let response = try await invoke(emulator, "{}")
        #expect(response.status >= 400)
        let error = try #require(object(response.body))
        #expect(error["errorType"] as? String == "TaskShim.Configuration")
        #expect((error["errorMessage"] as? String)?.contains("TELEMETRY_URL") == true)
        // The runtime goes on serving after a failed invocation.
        let again = try await invoke(emulator, "{}")
        #expect(object(again.body)?["errorType"] as? String == "TaskShim.Configuration")
        _ = runtime
    }

    @Test func scheduledEventsRunTheWindowOfTheirTime() async throws {
        let emulator = try await LambdaEmulator.start()
        let receiver = try await RecordingReceiver.start()
        let root = try TemporaryDirectory()
        try root.write("window.sql", Self.windowSQL)
        let runtime = try BackgroundRuntime(environment: ["AWS_LAMBDA_RUNTIME_API": emulator.runtimeAPI, "_HANDLER": "window.sql",
                                                          "LAMBDA_TASK_ROOT": root.path, "TELEMETRY_URL": receiver.url,
                                                          "TASKSHIM_DATA_DIR": root.file("data")])
        let event = #"{"version":"0","id":"7bf73129-1428-4cd3-a780-95db273d1602","detail-type":"Scheduled Event","source":"aws.events","account":"123456789012","time":"2026-11-22T09:00:00Z","region":"us-east-1","resources":[],"detail":{}}"#
        let response = try await invoke(emulator, event)
        #expect(response.status == 200, "\(runtime.stdout)\(runtime.stderr)")
        #expect(object(response.body)?["window_start"] as? String == "2026-11-22T07:00:00Z")
        let records = receiver.requests.flatMap(\.records)
        #expect(records.count == 1)
        #expect(records.first?["timestamp"] as? String == "2026-11-22T07:00:00Z")
    }

    @Test func sqsBatchesReportOnlyTheFailedMessages() async throws {
        let emulator = try await LambdaEmulator.start()
        let receiver = try await RecordingReceiver.start()
        let root = try TemporaryDirectory()
        try root.write("window.sql", Self.windowSQL)
        let runtime = try BackgroundRuntime(environment: ["AWS_LAMBDA_RUNTIME_API": emulator.runtimeAPI, "_HANDLER": "window.sql",
                                                          "LAMBDA_TASK_ROOT": root.path, "TELEMETRY_URL": receiver.url,
                                                          "TASKSHIM_DATA_DIR": root.file("data")])
        func record(_ id: String, _ body: String, jobType: String? = nil) -> String {
            let attributes = jobType.map { #"{"job_type":{"stringValue":"\#($0)","dataType":"String"}}"# } ?? "{}"
            return #"{"messageId":"\#(id)","receiptHandle":"r","body":\#(JSONSerialization.quoted(body)),"attributes":{"ApproximateReceiveCount":"1"},"messageAttributes":\#(attributes),"md5OfBody":"x","eventSource":"aws:sqs","eventSourceARN":"arn:aws:sqs:us-east-1:123456789012:jobs","awsRegion":"us-east-1"}"#
        }
        // m4 and m5 carry a job type, as a queue worker's jobs do: the handler it names runs instead of _HANDLER.
        let batch = #"{"Records":[\#(record("m1", #"{"stream_name":"a"}"#)),\#(record("m2", #"{"start":"never","end":"later"}"#)),\#(record("m3", "{}")),\#(record("m4", #"{"x":1}"#, jobType: "echo")),\#(record("m5", "{}", jobType: "no-such-handler"))]}"#
        let response = try await invoke(emulator, batch)
        #expect(response.status == 200, "\(runtime.stdout)")
        let failures = try #require(object(response.body)?["batchItemFailures"] as? [[String: String]])
        #expect(failures == [["itemIdentifier": "m2"], ["itemIdentifier": "m5"]])
        #expect(receiver.requests.count == 2)
        let summaries = runtime.stdout.split(separator: "\n").filter { $0.contains("run f") }
        #expect(summaries.count == 4)
        #expect(summaries.filter { $0.contains("handler=echo") }.count == 1, "the job type chose the handler: \(summaries)")
        #expect(runtime.stdout.contains("SQS message of an unknown job type"))
    }

    @Test func anUnknownHandlerIsAnInitError() async throws {
        let api = try await FakeRuntimeAPI.start(events: [])
        let runtime = try BackgroundRuntime(environment: ["AWS_LAMBDA_RUNTIME_API": api.runtimeAPI, "_HANDLER": "nope"], arguments: ["lambda"])
        #expect(await runtime.waitForExit(timeout: 20) == 67)
        let posts = await api.waitForPosts(1)
        #expect(posts.first?.path == "/2018-06-01/runtime/init/error")
        #expect(posts.first?.headers["lambda-runtime-function-error-type"] == "TaskShim.NoHandler")
        #expect((posts.first?.json?["errorMessage"] as? String)?.contains("nope") == true)
        #expect(runtime.stderr.contains("No handler named 'nope'"))
    }

    @Test func aMissingHandlerSettingIsAnInitError() async throws {
        let api = try await FakeRuntimeAPI.start(events: [])
        let runtime = try BackgroundRuntime(environment: ["AWS_LAMBDA_RUNTIME_API": api.runtimeAPI], arguments: ["lambda"])
        #expect(await runtime.waitForExit(timeout: 20) == 78)
        #expect(await api.waitForPosts(1).first?.path == "/2018-06-01/runtime/init/error")
    }

    @Test func aHandlerPastTheDeadlineIsCancelledAndReported() async throws {
        let url = try TestServers.postgresURL()
        let root = try TemporaryDirectory()
        try root.write("slow.sql", "SELECT 'e' AS element_name, now() AS timestamp, 'f' AS filter, 1 AS value FROM pg_sleep(30)")
        let api = try await FakeRuntimeAPI.start(events: [["body": "{}", "deadline_ms": 700]])
        let start = Date()
        let runtime = try BackgroundRuntime(environment: ["AWS_LAMBDA_RUNTIME_API": api.runtimeAPI, "_HANDLER": "slow.sql",
                                                          "LAMBDA_TASK_ROOT": root.path, "DATABASE_URL": url, "TELEMETRY_URL": "http://127.0.0.1:9/"],
                                            arguments: ["lambda", "--max-invocations", "1"])
        let posts = await api.waitForPosts(1)
        #expect(posts.first?.path.hasSuffix("/error") == true)
        #expect(posts.first?.headers["lambda-runtime-function-error-type"] == "TaskShim.TemporaryFailure")
        #expect((posts.first?.json?["errorMessage"] as? String)?.contains("deadline") == true)
        #expect(Date().timeIntervalSince(start) < 15)
        #expect(await runtime.waitForExit(timeout: 20) == 0)
    }

    @Test func oversizedResponsesArePostedAsErrors() async throws {
        let big = String(repeating: "x", count: 6 * 1024 * 1024 + 10)
        let api = try await FakeRuntimeAPI.start(events: [["body": big]])
        let runtime = try BackgroundRuntime(environment: ["AWS_LAMBDA_RUNTIME_API": api.runtimeAPI, "_HANDLER": "echo"],
                                            arguments: ["lambda", "--max-invocations", "1"])
        let posts = await api.waitForPosts(1)
        #expect(posts.first?.path.hasSuffix("/error") == true)
        #expect(posts.first?.headers["lambda-runtime-function-error-type"] == "TaskShim.ResponseTooLarge")
        #expect(await runtime.waitForExit(timeout: 20) == 0)
    }

    @Test func aRuntimeAPIThatFailsEndsTheProcessWithAClearError() async throws {
        let api = try await FakeRuntimeAPI.start(events: [["body": "{}", "on_response": 500]])
        let runtime = try BackgroundRuntime(environment: ["AWS_LAMBDA_RUNTIME_API": api.runtimeAPI, "_HANDLER": "echo"], arguments: ["lambda"])
        #expect(await runtime.waitForExit(timeout: 20) == 75)
        #expect(runtime.stderr.contains("answered /invocation/"))
        #expect(runtime.stderr.contains("500"))
    }

    @Test func aConnectionResetDuringNextEndsTheProcess() async throws {
        let api = try await FakeRuntimeAPI.start(events: [["body": "{}", "reset_next": true]])
        let runtime = try BackgroundRuntime(environment: ["AWS_LAMBDA_RUNTIME_API": api.runtimeAPI, "_HANDLER": "echo"], arguments: ["lambda"])
        #expect(await runtime.waitForExit(timeout: 20) == 75)
        #expect(runtime.stderr.contains("127.0.0.1"))
    }

    @Test func aNextThatBlocksLongIsWaitedFor() async throws {
        let api = try await FakeRuntimeAPI.start(events: [["body": #"{"late":true}"#, "delay_ms": 2500]])
        let runtime = try BackgroundRuntime(environment: ["AWS_LAMBDA_RUNTIME_API": api.runtimeAPI, "_HANDLER": "echo"],
                                            arguments: ["lambda", "--max-invocations", "1"])
        let posts = await api.waitForPosts(1)
        #expect(posts.first?.path.hasSuffix("/response") == true)
        #expect(posts.first?.body == #"{"late":true}"#)
        #expect(await runtime.waitForExit(timeout: 20) == 0)
    }

    @Test func anEventThatIsNotJSONReachesTheHandlerAsItCame() async throws {
        let api = try await FakeRuntimeAPI.start(events: [["body": "plain text, not JSON {"]])
        let runtime = try BackgroundRuntime(environment: ["AWS_LAMBDA_RUNTIME_API": api.runtimeAPI, "_HANDLER": "echo"],
                                            arguments: ["lambda", "--max-invocations", "1"])
        let posts = await api.waitForPosts(1)
        #expect(posts.first?.path.hasSuffix("/response") == true)
        #expect(posts.first?.body == "plain text, not JSON {")
        #expect(await runtime.waitForExit(timeout: 20) == 0)
    }

    /// A crash cannot be caught: the process ends with the trap's message on stderr and nothing posted,
    /// and Lambda reports `Runtime.ExitError` for the invocation and starts a fresh environment.
    @Test func aHandlerThatCrashesTheProcessEndsItWithTheMessage() async throws {
        let api = try await FakeRuntimeAPI.start(events: [["body": #"{"n":1}"#]])
        let runtime = try BackgroundRuntime(environment: ["AWS_LAMBDA_RUNTIME_API": api.runtimeAPI, "_HANDLER": "crash",
                                                          "SWIFT_BACKTRACE": "enable=no"],
                                            arguments: ["lambda"], executable: RepositoryPaths.embeddedRuntimeBinary)
        #expect(await runtime.waitForExit(timeout: 20) != nil)
        #expect(runtime.wasKilledBySignal)
        #expect(runtime.stderr.contains(#"the crash handler crashed on {"n":1}"#), "\(runtime.stderr)")
        #expect(api.posts.isEmpty)
    }

    @Test func sigtermBetweenEventsExitsCleanly() async throws {
        let api = try await FakeRuntimeAPI.start(events: [])
        let runtime = try BackgroundRuntime(environment: ["AWS_LAMBDA_RUNTIME_API": api.runtimeAPI, "_HANDLER": "echo"], arguments: ["lambda"])
        usleep(500_000)
        runtime.signal(SIGTERM)
        #expect(await runtime.waitForExit(timeout: 10) == 0)
    }
}
}

extension JSONSerialization {
    /// `text` as a JSON string literal.
    static func quoted(_ text: String) -> String {
        String(decoding: try! JSONSerialization.data(withJSONObject: [text]), as: UTF8.self).dropFirst().dropLast().description
    }
}
