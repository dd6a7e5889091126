import Foundation
import Logging
import Testing
import TestSupport
@testable import TaskShimClients
@testable import TaskShimCore
@testable import TaskShimHTTP

/// The Functions Framework conformance vectors (../shared/ff-conformance/events/generate/data), sent
/// by the CloudEvents Python SDK in binary and structured mode. A CloudEvent function must receive the
/// event it was sent (SOURCE.md there: CloudEvent to CloudEvent, output equals input): id, source,
/// subject, type, datacontenttype and data equal, time the same instant. (The `-cloudevent-output`
/// files are the targets of the legacy conversion; for Pub/Sub they lack `subscription`, which a
/// legacy event does not carry.)
struct CloudEventConformanceTests {
    static let vectors = RepositoryPaths.root.appendingPathComponent("../shared/ff-conformance/events/generate/data").standardized.path

    static var cloudEventInputs: [String] { inputs("-cloudevent-input.json") }

    static func inputs(_ suffix: String) -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: vectors)) ?? []).filter { $0.hasSuffix(suffix) }.sorted()
    }

    func serving(_ handler: ScriptedHandler, signature: FunctionServer.Signature = .cloudEvent,
                 _ body: @Sendable (String) async throws -> Void) async throws {
        var configuration = FunctionServer.Configuration()
        configuration.signature = signature
        configuration.host = "127.0.0.1"
        configuration.port = 0
        let env = Environment([:])
        let quiet = Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() })
        let runner = Runner(logger: quiet, environment: env, secrets: EnvironmentSecrets(environment: env, redactor: Redactor()), output: MemoryLineWriter())
        let server = FunctionServer(handler: handler, runner: runner, logger: quiet, configuration: configuration)
        let port = Box<Int>()
        let task = Task { try await server.run(onListening: { port.set($0) }) }
        while port.current == nil { try await Task.sleep(for: .milliseconds(10)) }
        try await body("http://127.0.0.1:\(port.current!)/")
        task.cancel()
        try await task.value
    }

    func object(_ data: Data) -> [String: Any]? {
        try? JSONSerialization.jsonObject(with: data) as? [String: Any]
    }

    @Test func theVectorsAreThere() {
        #expect(Self.cloudEventInputs.count >= 17, "\(Self.vectors)")
    }

    @Test(arguments: ["binary", "structured"])
    func everyCloudEventVectorReachesTheHandlerAsSent(mode: String) async throws {
        let (received, handler) = recorder()
        try await serving(handler) { url in
            for input in Self.cloudEventInputs {
                received.set(nil)
                let result = try await sendWithSDK(url, mode, input)
                #expect(result.stdout.trimmingCharacters(in: .whitespacesAndNewlines) == "200", "\(input) \(mode): \(result.stdout)\(result.stderr)")
                let expected = try #require(object(Data(contentsOf: URL(fileURLWithPath: Self.vectors + "/" + input))))
                let got = try #require(received.current.flatMap(object), "\(input) \(mode): nothing reached the handler")
                for key in ["id", "source", "subject", "type", "datacontenttype"] {
                    #expect(got[key] as? String == expected[key] as? String, "\(input) \(mode): \(key)")
                }
                let gotTime = (got["time"] as? String).flatMap(Timestamp.parse)
                let expectedTime = (expected["time"] as? String).flatMap(Timestamp.parse)
                #expect(gotTime == expectedTime, "\(input) \(mode): time")
                let gotData = got["data"].map { NSDictionary(dictionary: ["v": $0]) }
                let expectedData = expected["data"].map { NSDictionary(dictionary: ["v": $0]) }
                #expect(gotData == expectedData, "\(input) \(mode): data")
            }
        }
    }

    /// A handler that keeps the last payload it got.
    func recorder() -> (Box<Data>, ScriptedHandler) {
        let received = Box<Data>()
        return (received, ScriptedHandler { invocation in
            received.set(invocation.payload)
            return Data()
        })
    }

    /// Sends a vector with the CloudEvents Python SDK in `mode` (binary or structured).
    func sendWithSDK(_ url: String, _ mode: String, _ input: String) async throws -> ProcessResult {
        try await runProcessAsync("/usr/bin/env", ["python3", RepositoryPaths.path("Tests/Support/send_cloudevent.py"), url, mode, Self.vectors + "/" + input],
                                  environment: ["PATH": ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"])
    }

    func vector(_ name: String) throws -> [String: Any] {
        try #require(object(Data(contentsOf: URL(fileURLWithPath: Self.vectors + "/" + name))), "\(name)")
    }

    /// JSON values compared as values (key order and number spelling aside).
    func same(_ a: Any?, _ b: Any?) -> Bool {
        NSDictionary(dictionary: ["v": a ?? NSNull()]) == NSDictionary(dictionary: ["v": b ?? NSNull()])
    }

    /// A CloudEvent the handler got against the expected one, as the conformance client compares them.
    func expectSameCloudEvent(_ got: [String: Any], _ expected: [String: Any], _ label: String) {
        for key in ["id", "source", "subject", "type", "datacontenttype"] {
            #expect(got[key] as? String == expected[key] as? String, "\(label): \(key)")
        }
        #expect((got["time"] as? String).flatMap(Timestamp.parse) == (expected["time"] as? String).flatMap(Timestamp.parse), "\(label): time")
        #expect(same(got["data"], expected["data"]), "\(label): data \(got["data"] ?? "none")")
    }

    /// A legacy event the handler got against the expected `{"data","context"}`.
    func expectSameLegacyEvent(_ got: [String: Any], _ expected: [String: Any], _ label: String) {
        let context = got["context"] as? [String: Any] ?? [:]
        let wanted = expected["context"] as? [String: Any] ?? [:]
        #expect(context["eventId"] as? String == wanted["eventId"] as? String, "\(label): eventId")
        #expect(context["eventType"] as? String == wanted["eventType"] as? String, "\(label): eventType")
        #expect((context["timestamp"] as? String).flatMap(Timestamp.parse) == (wanted["timestamp"] as? String).flatMap(Timestamp.parse),
                "\(label): timestamp")
        #expect(same(context["resource"], wanted["resource"]), "\(label): resource \(context["resource"] ?? "none")")
        #expect(same(got["data"], expected["data"]), "\(label): data \(got["data"] ?? "none")")
    }

    func post(_ url: String, file: String) async throws -> HTTPResponse {
        try await HTTPClient().send(HTTPRequest(method: "POST", url: url, headers: [("Content-Type", "application/json")],
                                                body: Data(contentsOf: URL(fileURLWithPath: Self.vectors + "/" + file))))
    }

    @Test func everyLegacyVectorReachesACloudEventFunctionConverted() async throws {
        let (received, handler) = recorder()
        let inputs = Self.inputs("-legacy-input.json")
        #expect(inputs.count >= 17)
        try await serving(handler) { url in
            for input in inputs {
                received.set(nil)
                let response = try await post(url, file: input)
                #expect(response.status == 200, "\(input): \(String(decoding: response.body, as: UTF8.self))")
                let got = try #require(received.current.flatMap(object), "\(input): nothing reached the handler")
                let expected = try vector(input.replacingOccurrences(of: "-legacy-input", with: "-cloudevent-output"))
                expectSameCloudEvent(got, expected, input)
            }
        }
    }

    @Test func everyLegacyVectorReachesAnEventFunctionAsSent() async throws {
        let (received, handler) = recorder()
        try await serving(handler, signature: .event) { url in
            for input in Self.inputs("-legacy-input.json") {
                received.set(nil)
                let response = try await post(url, file: input)
                #expect(response.status == 200, "\(input): \(String(decoding: response.body, as: UTF8.self))")
                let got = try #require(received.current.flatMap(object), "\(input): nothing reached the handler")
                expectSameLegacyEvent(got, try vector(input.replacingOccurrences(of: "-legacy-input", with: "-legacy-output")), input)
            }
        }
    }

    @Test(arguments: ["binary", "structured"])
    func everyCloudEventVectorReachesAnEventFunctionConverted(mode: String) async throws {
        let (received, handler) = recorder()
        try await serving(handler, signature: .event) { url in
            for input in Self.cloudEventInputs {
                received.set(nil)
                let result = try await sendWithSDK(url, mode, input)
                #expect(result.stdout.trimmingCharacters(in: .whitespacesAndNewlines) == "200", "\(input) \(mode): \(result.stdout)\(result.stderr)")
                let got = try #require(received.current.flatMap(object), "\(input) \(mode): nothing reached the handler")
                // The conformance suite's rule: -legacy-output-converted.json when there is one.
                let converted = input.replacingOccurrences(of: "-cloudevent-input", with: "-legacy-output-converted")
                let plain = input.replacingOccurrences(of: "-cloudevent-input", with: "-legacy-output")
                let expected = FileManager.default.fileExists(atPath: Self.vectors + "/" + converted) ? converted : plain
                expectSameLegacyEvent(got, try vector(expected), "\(input) \(mode)")
            }
        }
    }

    @Test func eventsThatCannotBeConvertedAre400() async throws {
        let handler = ScriptedHandler { _ in Data() }
        try await serving(handler) { url in
            // A Realtime Database event without its domain has no location for the CloudEvent source.
            let noDomain = #"{"eventId":"1","timestamp":"2020-09-29T11:32:00.123Z","eventType":"providers/google.firebase.database/eventTypes/ref.write","resource":"projects/_/instances/x/refs/a","data":{}}"#
            let first = try await HTTPClient().send(HTTPRequest(method: "POST", url: url, headers: [("Content-Type", "application/json")], body: Data(noDomain.utf8)))
            #expect(first.status == 400)
            #expect(String(decoding: first.body, as: UTF8.self).contains("domain"))
            let unknown = #"{"eventId":"1","timestamp":"2020-09-29T11:32:00.123Z","eventType":"acme.thing.happened","resource":"r","data":{}}"#
            let second = try await HTTPClient().send(HTTPRequest(method: "POST", url: url, headers: [("Content-Type", "application/json")], body: Data(unknown.utf8)))
            #expect(second.status == 400)
            let noTime = #"{"eventId":"1","eventType":"google.pubsub.topic.publish","resource":"r","data":{}}"#
            let third = try await HTTPClient().send(HTTPRequest(method: "POST", url: url, headers: [("Content-Type", "application/json")], body: Data(noTime.utf8)))
            #expect(third.status == 400)
        }
        try await serving(handler, signature: .event) { url in
            let response = try await HTTPClient().send(HTTPRequest(method: "POST", url: url, headers: [
                ("ce-specversion", "1.0"), ("ce-id", "1"), ("ce-source", "//acme/x"), ("ce-type", "com.acme.unknown"),
            ]))
            #expect(response.status == 400)
            #expect(String(decoding: response.body, as: UTF8.self).contains("no legacy event equivalent"))
            let notAnEvent = try await HTTPClient().send(HTTPRequest(method: "POST", url: url, headers: [("Content-Type", "application/json")], body: Data(#"{"a":1}"#.utf8)))
            #expect(notAnEvent.status == 400)
        }
        #expect(handler.calls == 0)
    }

    @Test func malformedEventsAre400AndNeverReachTheHandler() async throws {
        let handler = ScriptedHandler { _ in Data() }
        try await serving(handler) { url in
            let client = HTTPClient()
            let noID = try await client.send(HTTPRequest(method: "POST", url: url, headers: [("Content-Type", "application/cloudevents+json")],
                                                          body: Data(#"{"specversion":"1.0","source":"s","type":"t"}"#.utf8)))
            #expect(noID.status == 400)
            #expect(String(decoding: noID.body, as: UTF8.self).contains("no id"))
            let badJSON = try await client.send(HTTPRequest(method: "POST", url: url, headers: [
                ("ce-specversion", "1.0"), ("ce-id", "1"), ("ce-source", "s"), ("ce-type", "t"), ("Content-Type", "application/json"),
            ], body: Data("{not json".utf8)))
            #expect(badJSON.status == 400)
            let badTime = try await client.send(HTTPRequest(method: "POST", url: url, headers: [
                ("ce-specversion", "1.0"), ("ce-id", "1"), ("ce-source", "s"), ("ce-type", "t"), ("ce-time", "yesterday"),
            ]))
            #expect(badTime.status == 400)
            let plain = try await client.send(HTTPRequest(method: "POST", url: url, headers: [("Content-Type", "application/json")], body: Data("{}".utf8)))
            #expect(plain.status == 400)
            #expect(handler.calls == 0)
        }
    }

    @Test func aBatchRunsTheHandlerOncePerEventWithThatEventsOwnFields() async throws {
        let seen = Box<[Invocation]>()
        let handler = ScriptedHandler { invocation in
            seen.set((seen.current ?? []) + [invocation])
            return Data()
        }
        try await serving(handler) { url in
            let before = Date()
            let batch = #"[{"specversion":"1.0","id":"a","source":"s","type":"t","time":"2026-11-01T10:00:00Z"},{"specversion":"1.0","id":"b","source":"s2","type":"t2","data":{"x":1}}]"#
            let response = try await HTTPClient().send(HTTPRequest(method: "POST", url: url,
                                                                   headers: [("Content-Type", "application/cloudevents-batch+json")], body: Data(batch.utf8)))
            #expect(response.status == 200)
            let runs = try #require(seen.current)
            #expect(runs.map(\.idempotencyKey) == ["a", "b"])
            #expect(runs.map { $0.attributes["ce_source"] } == ["s", "s2"])
            #expect(runs.map { $0.attributes["ce_type"] } == ["t", "t2"])
            #expect(runs.allSatisfy { $0.trigger == .cloudEvent && $0.platformRetries }, "Eventarc redelivers: in-process retries stay short")
            #expect(runs[0].logicalTime == Timestamp.parse("2026-11-01T10:00:00Z"))
            // An event without a time runs for when the request came, not for the event before it.
            #expect(runs[1].logicalTime >= before.addingTimeInterval(-1))
            #expect(String(decoding: runs[1].payload, as: UTF8.self).contains(#""data":{"x":1}"#))
            #expect(!String(decoding: runs[0].payload, as: UTF8.self).contains(#""data""#))
        }
    }

    @Test func binaryHeadersArePercentDecodedAndTextDataStaysText() async throws {
        let (received, handler) = recorder()
        try await serving(handler) { url in
            let response = try await HTTPClient().send(HTTPRequest(method: "POST", url: url, headers: [
                ("ce-specversion", "1.0"), ("ce-id", "1"), ("ce-source", "s"), ("ce-type", "t"), ("ce-subject", "caf%C3%A9%20menu"),
                ("Content-Type", "text/plain"),
            ], body: Data("hello".utf8)))
            #expect(response.status == 200)
            let event = try #require(received.current.flatMap(object))
            #expect(event["subject"] as? String == "café menu")
            #expect(event["data"] as? String == "hello")
            #expect(event["datacontenttype"] as? String == "text/plain")
        }
    }
}
