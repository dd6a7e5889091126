import Foundation
import Logging
import Synchronization
import Testing
import TestSupport
@testable import TaskShimClients
@testable import TaskShimCore
@testable import TaskShimHTTP

/// Pub/Sub push (wrapped and unwrapped) and Cloud Scheduler calls on the `http` signature: what the
/// handler gets, deduplication, and which failures are acknowledged.
struct PushDeliveryTests {
    /// Serves `handler`, logging JSON lines in the gcp format into `log`.
    func serving(_ handler: ScriptedHandler, log: MemoryLineWriter = MemoryLineWriter(),
                 _ body: @Sendable (String) async throws -> Void) async throws {
        var configuration = FunctionServer.Configuration()
        configuration.host = "127.0.0.1"
        configuration.port = 0
        let env = Environment(["GOOGLE_CLOUD_PROJECT": "demo-project"])
        let setup = LogSetup(format: .gcp, level: .info, writer: log, redactor: Redactor(), environment: .init(env))
        let logger = setup.makeLogger(label: "taskshim.serve")
        let runner = Runner(logger: logger, environment: env, secrets: EnvironmentSecrets(environment: env, redactor: Redactor()), output: MemoryLineWriter())
        let server = FunctionServer(handler: handler, runner: runner, logger: logger, configuration: configuration)
        let port = Atomic<Int>(0)
        let task = Task { try await server.run(onListening: { port.store($0, ordering: .relaxed) }) }
        while port.load(ordering: .relaxed) == 0 { try await Task.sleep(for: .milliseconds(10)) }
        try await body("http://127.0.0.1:\(port.load(ordering: .relaxed))/")
        task.cancel()
        try await task.value
    }

    func envelope(id: String, data: String, attempt: Int? = nil) -> Data {
        let attemptField = attempt.map { #","deliveryAttempt":\#($0)"# } ?? ""
        return Data("""
            {"message":{"attributes":{"origin":"test"},"data":"\(Data(data.utf8).base64EncodedString())","messageId":"\(id)",\
            "message_id":"\(id)","publishTime":"2026-11-01T10:00:00.5Z","publish_time":"2026-11-01T10:00:00.5Z","orderingKey":"k1"},\
            "subscription":"projects/demo/subscriptions/jobs"\(attemptField)}
            """.utf8)
    }

    func push(_ url: String, _ body: Data) async throws -> HTTPResponse {
        try await HTTPClient().send(HTTPRequest(method: "POST", url: url, headers: [("Content-Type", "application/json")], body: body))
    }

    @Test func aWrappedPushRunsTheHandlerWithTheMessageData() async throws {
        let seen = Box<Invocation>()
        let handler = ScriptedHandler { invocation in
            seen.set(invocation)
            return Data()
        }
        try await serving(handler) { url async throws in
            let response = try await push(url, envelope(id: "m-1", data: #"{"rows":3}"#, attempt: 2))
            #expect(response.status == 200)
            let invocation = try #require(seen.current)
            #expect(String(decoding: invocation.payload, as: UTF8.self) == #"{"rows":3}"#)
            #expect(invocation.trigger == .pubsub)
            #expect(invocation.platformRetries, "Pub/Sub redelivers: in-process retries stay short")
            #expect(invocation.idempotencyKey == "m-1")
            #expect(invocation.attempt == 2)
            #expect(invocation.logicalTime == Timestamp.parse("2026-11-01T10:00:00.5Z"))
            #expect(invocation.attributes["pubsub_subscription"] == "projects/demo/subscriptions/jobs")
            #expect(invocation.attributes["pubsub_ordering_key"] == "k1")
            #expect(invocation.attributes["pubsub_attribute_origin"] == "test")
        }
    }

    @Test func anUnwrappedPushWithMetadataIsRecognisedFromItsHeaders() async throws {
        let seen = Box<Invocation>()
        let handler = ScriptedHandler { invocation in
            seen.set(invocation)
            return Data()
        }
        try await serving(handler) { url async throws in
            let response = try await HTTPClient().send(HTTPRequest(method: "POST", url: url, headers: [
                ("Content-Type", "application/json"), ("x-goog-pubsub-message-id", "u-7"),
                ("x-goog-pubsub-publish-time", "2026-11-02T00:00:00Z"), ("x-goog-pubsub-subscription-name", "projects/demo/subscriptions/raw"),
            ], body: Data(#"{"status":"Hello there"}"#.utf8)))
            #expect(response.status == 200)
            let invocation = try #require(seen.current)
            #expect(String(decoding: invocation.payload, as: UTF8.self) == #"{"status":"Hello there"}"#)
            #expect(invocation.trigger == .pubsub)
            #expect(invocation.idempotencyKey == "u-7")
            #expect(invocation.logicalTime == Timestamp.parse("2026-11-02T00:00:00Z"))
            #expect(invocation.attributes["pubsub_subscription"] == "projects/demo/subscriptions/raw")
        }
    }

    @Test func aRedeliveredMessageIsAcknowledgedWithoutRunningAgain() async throws {
        let handler = ScriptedHandler { _ in Data() }
        try await serving(handler) { url async throws in
            #expect(try await push(url, envelope(id: "dup", data: "x")).status == 200)
            #expect(try await push(url, envelope(id: "dup", data: "x")).status == 200)
            #expect(try await push(url, envelope(id: "other", data: "x")).status == 200)
        }
        #expect(handler.calls == 2)
    }

    @Test func aCopyArrivingWhileTheFirstRunsIsRefusedSoItComesBackLater() async throws {
        let release = Flag()
        let handler = ScriptedHandler { _ in
            while !release.isSet { try await Task.sleep(for: .milliseconds(5)) }
            return Data()
        }
        try await serving(handler) { url async throws in
            let first = Task { try await push(url, envelope(id: "slow", data: "x")) }
            while handler.calls == 0 { try await Task.sleep(for: .milliseconds(5)) }
            #expect(try await push(url, envelope(id: "slow", data: "x")).status == 409)
            release.set()
            #expect(try await first.value.status == 200)
        }
        #expect(handler.calls == 1)
    }

    @Test func badDataIsAcknowledgedAndLoggedWhileATemporaryFailureIsRetried() async throws {
        let log = MemoryLineWriter()
        let failures = Mutex<[TaskShimError]>([.data("row 3 is not a date"), .temporary("database down"), .temporary("database down")])
        let handler = ScriptedHandler { _ in
            if let error = failures.withLock({ $0.isEmpty ? nil : $0.removeFirst() }) { throw error }
            return Data()
        }
        try await serving(handler, log: log) { url async throws in
            // Bad data: retrying cannot help, so Pub/Sub is told to stop, and the message is not run again.
            #expect(try await push(url, envelope(id: "bad", data: "x")).status == 200)
            #expect(try await push(url, envelope(id: "bad", data: "x")).status == 200)
            // A temporary failure is a 500, so Pub/Sub redelivers; the redelivery runs.
            #expect(try await push(url, envelope(id: "flaky", data: "x")).status == 500)
            #expect(try await push(url, envelope(id: "flaky", data: "x")).status == 500)
            #expect(try await push(url, envelope(id: "flaky", data: "x")).status == 200)
        }
        #expect(handler.calls == 4)
        let failed = log.lines.filter { $0.contains(#""message":"run failed""#) }
        #expect(failed.count == 3)
        #expect(failed.first?.contains("row 3 is not a date") == true)
        #expect(failed.first?.contains(#""status":200"#) == true, "the acknowledged failure's httpRequest says 200")
    }

    @Test func aSchedulerCallRunsForItsScheduleTimeAndAcknowledgesBadData() async throws {
        let seen = Box<Invocation>()
        let handler = ScriptedHandler { invocation in
            seen.set(invocation)
            if invocation.payload == Data("bad".utf8) { throw TaskShimError.data("bad body") }
            if invocation.payload == Data("down".utf8) { throw TaskShimError.temporary("down") }
            return Data("done".utf8)
        }
        try await serving(handler) { url async throws in
            func call(_ body: String) async throws -> HTTPResponse {
                try await HTTPClient().send(HTTPRequest(method: "POST", url: url, headers: [
                    ("X-CloudScheduler", "true"), ("X-CloudScheduler-JobName", "nightly-rollup"),
                    ("X-CloudScheduler-ScheduleTime", "2026-11-24T02:00:00Z"),
                ], body: Data(body.utf8)))
            }
            let ok = try await call("run")
            #expect(ok.status == 200)
            let invocation = try #require(seen.current)
            #expect(invocation.trigger == .scheduler)
            #expect(invocation.platformRetries)
            #expect(invocation.logicalTime == Timestamp.parse("2026-11-24T02:00:00Z"))
            #expect(invocation.idempotencyKey == "nightly-rollup@2026-11-24T02:00:00Z")
            #expect(invocation.attributes["scheduler_job_name"] == "nightly-rollup")
            #expect(try await call("bad").status == 200)
            #expect(try await call("down").status == 500)
            let bogus = try await HTTPClient().send(HTTPRequest(method: "POST", url: url, headers: [("X-CloudScheduler-ScheduleTime", "soon")]))
            #expect(bogus.status == 400)
        }
    }

    @Test func malformedPushesAre400() async throws {
        let handler = ScriptedHandler { _ in Data() }
        try await serving(handler) { url async throws in
            #expect(try await push(url, Data(#"{"message":{"data":"eA=="},"subscription":"s"}"#.utf8)).status == 400)
            #expect(try await push(url, Data(#"{"message":{"messageId":"1","data":"%%%"},"subscription":"s"}"#.utf8)).status == 400)
            // Not an envelope: an ordinary request.
            #expect(try await push(url, Data(#"{"message":"hello"}"#.utf8)).status == 200)
        }
        #expect(handler.calls == 1)
    }

    @Test func theRunSummaryCarriesHTTPRequestAndTheExecutionID() async throws {
        let log = MemoryLineWriter()
        let handler = ScriptedHandler { _ in Data("hello".utf8) }
        try await serving(handler, log: log) { url async throws in
            let response = try await HTTPClient().send(HTTPRequest(method: "POST", url: url + "run?x=1", headers: [
                ("Function-Execution-Id", "exec-42"), ("User-Agent", "Google-Cloud-Scheduler"),
            ], body: Data("abc".utf8)))
            #expect(response.status == 200)
        }
        let summary = try #require(log.lines.first { $0.contains(#""message":"run finished""#) })
        let object = try #require(try JSONSerialization.jsonObject(with: Data(summary.utf8)) as? [String: Any])
        let request = try #require(object["httpRequest"] as? [String: Any], "\(summary)")
        #expect(request["requestMethod"] as? String == "POST")
        #expect((request["requestUrl"] as? String)?.hasSuffix("/run?x=1") == true)
        #expect(request["status"] as? Int == 200)
        #expect(request["requestSize"] as? String == "3")
        #expect(request["responseSize"] as? String == "5")
        #expect(request["userAgent"] as? String == "Google-Cloud-Scheduler")
        #expect(request["remoteIp"] as? String == "127.0.0.1")
        let latency = try #require(request["latency"] as? String)
        #expect(latency.wholeMatch(of: /[0-9]+(\.[0-9]{1,9})?s/) != nil, "a protobuf Duration: \(latency)")
        #expect(RequestLog.duration(seconds: 0, nanoseconds: 92_598) == "0.000092598s")
        #expect(RequestLog.duration(seconds: 2, nanoseconds: 500_000_000) == "2.5s")
        #expect(RequestLog.duration(seconds: 1, nanoseconds: 0) == "1s")
        let labels = try #require(object["logging.googleapis.com/labels"] as? [String: Any])
        #expect(labels["execution_id"] as? String == "exec-42")
    }

    @Test func theDedupeMemoryIsBoundedAndForgetsTheOldestFirst() {
        let recent = RecentDeliveries(capacity: 3)
        for id in ["a", "b", "c", "d", "e", "f", "g", "h"] {
            #expect(recent.begin(id) == .new)
            recent.finish(id, acknowledged: true)
        }
        #expect(recent.begin("e") == .new, "forgotten: only the last three are kept")
        recent.finish("e", acknowledged: false)
        for id in ["f", "g", "h"] { #expect(recent.begin(id) == .done) }
        #expect(recent.begin("x") == .new)
        recent.finish("x", acknowledged: false)
        #expect(recent.begin("x") == .new, "a failed run is not remembered: the redelivery runs")
    }
}
