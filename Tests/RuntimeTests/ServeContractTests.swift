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

    @Test func eventLoopThreadsFollowTheCPUsTheProcessMayUse() async throws {
        // Pinned to one CPU with taskset (as systemd's CPUAffinity= would), it starts one thread, not one per core.
        let port = closedPort()
        let pinned = try BackgroundRuntime(environment: ["FUNCTION_TARGET": "echo", "PORT": String(port)],
                                           arguments: ["-c", "0", RepositoryPaths.runtimeBinary, "serve"], executable: "/usr/bin/taskset")
        #expect(try await pinned.waitForLog("listening"))
        let listening = pinned.logLines.first { $0["message"] as? String == "listening" }
        #expect(listening.map { "\($0["threads"] ?? "")" } == "1")
        pinned.signal(SIGTERM)
        #expect(await pinned.waitForExit(timeout: 20) == 0)
        // TASKSHIM_SERVE_THREADS still decides when set.
        let (chosen, _) = try await start(["FUNCTION_TARGET": "echo", "TASKSHIM_SERVE_THREADS": "3"])
        #expect(try await chosen.waitForLog("listening"))
        #expect(chosen.logLines.first { $0["message"] as? String == "listening" }.map { "\($0["threads"] ?? "")" } == "3")
        chosen.signal(SIGTERM)
        #expect(await chosen.waitForExit(timeout: 20) == 0)
    }

    @Test func sigtermLetsARequestInFlightFinishThenExits0() async throws {
        let (runtime, base) = try await start(["FUNCTION_TARGET": "sleep"], executable: RepositoryPaths.embeddedRuntimeBinary)
        async let answer = HTTPClient().send(HTTPRequest(method: "POST", url: base + "/", body: Data(#"{"ms":1000}"#.utf8)))
        #expect(try await runtime.waitForLog("sleeping"))
        runtime.signal(SIGTERM)
        let response = try await answer
        #expect(response.status == 200)
        #expect(String(decoding: response.body, as: UTF8.self) == "slept")
        #expect(await runtime.waitForExit(timeout: 20) == 0)
        // No longer accepting.
        await #expect(throws: (any Error).self) { _ = try await HTTPClient().send(HTTPRequest(url: base + "/")) }
    }

    @Test func healthcheckExits0WhileServingAnd1Otherwise() async throws {
        let (runtime, base) = try await start(["FUNCTION_TARGET": "echo", "TASKSHIM_HEALTH_PATH": "/healthz"])
        let port = String(base.split(separator: ":").last!)
        // OPTIONS * by default; the configured path with --path or TASKSHIM_HEALTH_PATH.
        #expect(try await runProcessAsync(RepositoryPaths.runtimeBinary, ["healthcheck"], environment: ["PORT": port]).status == 0)
        #expect(try await runProcessAsync(RepositoryPaths.runtimeBinary, ["healthcheck"],
                                          environment: ["PORT": port, "TASKSHIM_HEALTH_PATH": "/healthz"]).status == 0)
        // A load balancer's GET of the probe path is answered by the server; other paths are the function's.
        let probe = try await HTTPClient().send(HTTPRequest(url: base + "/healthz"))
        #expect(probe.status == 200 && String(decoding: probe.body, as: UTF8.self) == "ok\n")
        let echoed = try await HTTPClient().send(HTTPRequest(method: "POST", url: base + "/health", body: Data("x".utf8)))
        #expect(String(decoding: echoed.body, as: UTF8.self) == "x")
        runtime.signal(SIGTERM)
        #expect(await runtime.waitForExit(timeout: 20) == 0)
        let down = try await runProcessAsync(RepositoryPaths.runtimeBinary, ["healthcheck", "--port", port])
        #expect(down.status == 1)
        #expect(down.stderr.contains("unhealthy"), "\(down.stderr)")
    }

    @Test func healthcheckGivesUpOnAServerThatDoesNotAnswer() async throws {
        // A listener that accepts and never answers: the probe must not hang the container's check.
        let silent = try await RecordingReceiver.start(statuses: ["200:slow=5"])
        let started = ContinuousClock.now
        let result = try await runProcessAsync(RepositoryPaths.runtimeBinary, ["healthcheck", "--port", String(silent.port), "--path", "/healthz", "--timeout", "0.5"])
        #expect(result.status == 1)
        #expect(result.stderr.contains("no answer within"), "\(result.stderr)")
        #expect(ContinuousClock.now - started < .seconds(10))
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
