import Foundation
import Testing
import TestSupport
@testable import TaskShimClients

extension ProcessDrivingTests {
/// `runtime serve` as Cloud Run and ECS run it: the binary on $PORT, stopped with SIGTERM.
@Suite struct ServeContractTests {
    func start(_ environment: [String: String], executable: String = RepositoryPaths.runtimeBinary) async throws -> (BackgroundRuntime, String) {
        let port = closedPort()
        let runtime = try BackgroundRuntime(environment: environment.merging(["PORT": String(port)]) { a, _ in a },
                                            arguments: ["serve"], executable: executable)
        let deadline = Date().addingTimeInterval(20)
        while !LambdaEmulator.accepts(port) && Date() < deadline { try await Task.sleep(for: .milliseconds(20)) }
        return (runtime, "http://127.0.0.1:\(port)")
    }

    @Test func servesTheFunctionOnPORTAndLogsThePlatform() async throws {
        let (runtime, base) = try await start(["FUNCTION_TARGET": "echo", "K_SERVICE": "api", "K_REVISION": "api-00001",
                                               "TASKSHIM_LOG_FORMAT": "gcp", "GOOGLE_CLOUD_PROJECT": "demo-project"])
        let response = try await HTTPClient().send(HTTPRequest(method: "POST", url: base + "/hello",
                                                               headers: [("X-Cloud-Trace-Context", "105445aa7843bc8bf206b12000100000/10;o=1")],
                                                               body: Data(#"{"hi":1}"#.utf8)))
        #expect(response.status == 200)
        #expect(String(decoding: response.body, as: UTF8.self) == #"{"hi":1}"#)
        #expect(try await HTTPClient().send(HTTPRequest(url: base + "/favicon.ico")).status == 404)
        runtime.signal(SIGTERM)
        #expect(await runtime.waitForExit(timeout: 20) == 0)
        let platform = runtime.logLines.first { $0["message"] as? String == "platform detected" }
        #expect(platform?["platform"] as? String == "cloud-run-function", "K_SERVICE with FUNCTION_TARGET")
        #expect(platform?["revision"] as? String == "api-00001")
        // The request's run-summary line joins its trace in Cloud Logging.
        let summary = runtime.logLines.first { $0["message"] as? String == "run finished" }
        #expect(summary?["logging.googleapis.com/trace"] as? String == "projects/demo-project/traces/105445aa7843bc8bf206b12000100000")
        #expect(summary?["logging.googleapis.com/spanId"] as? String == "000000000000000a")
    }

    @Test func sigtermLetsARequestInFlightFinishThenExits0() async throws {
        let (runtime, base) = try await start(["FUNCTION_TARGET": "sleep"], executable: RepositoryPaths.embeddedRuntimeBinary)
        async let answer = HTTPClient().send(HTTPRequest(method: "POST", url: base + "/", body: Data(#"{"ms":1000}"#.utf8)))
        try await Task.sleep(for: .milliseconds(300))
        runtime.signal(SIGTERM)
        let response = try await answer
        #expect(response.status == 200)
        #expect(String(decoding: response.body, as: UTF8.self) == "slept")
        #expect(await runtime.waitForExit(timeout: 20) == 0)
        // No longer accepting.
        await #expect(throws: (any Error).self) { _ = try await HTTPClient().send(HTTPRequest(url: base + "/")) }
    }

    @Test func anUnknownSignatureIsAConfigurationError() async throws {
        let runtime = try BackgroundRuntime(environment: ["FUNCTION_TARGET": "echo", "FUNCTION_SIGNATURE_TYPE": "background", "PORT": "0"],
                                            arguments: ["serve"])
        #expect(await runtime.waitForExit(timeout: 20) == 78)
        #expect(runtime.stderr.contains("FUNCTION_SIGNATURE_TYPE=background"))
        #expect(runtime.stderr.contains("http (the default), cloudevent or event"))
    }
}
}
