import Foundation
import Synchronization
import Testing
import TestSupport
@testable import TaskShimClients
@testable import TaskShimCore

/// Against a real HTTP server on loopback (Python's http.server, Tests/Support/http_receiver.py).
struct LocalHTTPConnectionTests {
    func connection(_ receiver: RecordingReceiver, maxResponseBytes: Int = 8 << 20) -> LocalHTTPConnection {
        LocalHTTPConnection(host: "127.0.0.1", port: receiver.port, maxResponseBytes: maxResponseBytes)
    }

    @Test func sendsBodiesAndHeadersOverOneConnection() async throws {
        let receiver = try await RecordingReceiver.start()
        let connection = connection(receiver)
        for index in 1...3 {
            let response = try await connection.send(method: "POST", path: "/ingest?n=\(index)",
                                                     headers: [("Content-Type", "application/json"), ("X-N", "\(index)")],
                                                     body: Data("{\"n\":\(index)}".utf8))
            #expect(response.status == 200)
            #expect(response.header("Content-Type") == "application/json")
            #expect(String(decoding: response.body, as: UTF8.self) == "{\"ok\":true}")
        }
        let get = try await connection.send(method: "GET", path: "/next")
        #expect(get.status == 200)
        let requests = receiver.requests
        #expect(requests.map(\.body) == ["{\"n\":1}", "{\"n\":2}", "{\"n\":3}", ""])
        #expect(requests.map(\.path) == ["/ingest?n=1", "/ingest?n=2", "/ingest?n=3", "/next"])
        #expect(requests.prefix(3).map { $0.headers["x-n"] } == ["1", "2", "3"])
        #expect(requests.allSatisfy { $0.headers["host"] == "127.0.0.1:\(receiver.port)" })
        #expect(Set(requests.map(\.clientPort)).count == 1, "keep-alive: one TCP connection for all four")
    }

    @Test func largeBodiesGoBothWays() async throws {
        let receiver = try await RecordingReceiver.start(statuses: ["200:big=3000000"])
        let body = Data(repeating: UInt8(ascii: "y"), count: 2_000_000)
        let response = try await connection(receiver).send(method: "POST", path: "/big", body: body)
        #expect(response.body.count == 3_000_000)
        #expect(receiver.requests.first?.body.count == 2_000_000)
    }

    @Test func chunkedResponsesAreDecoded() async throws {
        let receiver = try await RecordingReceiver.start(statuses: ["200:chunked", "200"])
        let connection = connection(receiver)
        let first = try await connection.send(method: "GET", path: "/a")
        #expect(String(decoding: first.body, as: UTF8.self) == "{\"ok\":true}")
        // The connection is still in step after the trailers.
        let second = try await connection.send(method: "GET", path: "/b")
        #expect(String(decoding: second.body, as: UTF8.self) == "{\"ok\":true}")
        #expect(Set(receiver.requests.map(\.clientPort)).count == 1)
    }

    @Test func streamedBodiesAreSentChunkedWithTheirTrailers() async throws {
        let receiver = try await RecordingReceiver.start()
        let connection = connection(receiver)
        let body = StreamingBody()
        async let response = connection.send(method: "POST", path: "/stream", headers: [("Transfer-Encoding", "chunked")], streaming: body)
        for part in ["one ", "two ", "three"] {
            try await body.write(Data(part.utf8))
            try await Task.sleep(for: .milliseconds(20))
        }
        body.finish(trailers: [("X-Error-Type", "None")])
        #expect(try await response.status == 200)
        let request = try #require(receiver.requests.first)
        #expect(request.body == "one two three")
        #expect(request.trailers == ["x-error-type": "None"])
        #expect(request.headers["content-length"] == nil)
    }

    @Test func aConnectionTheServerClosedWhileIdleIsOpenedAgain() async throws {
        let receiver = try await RecordingReceiver.start(statuses: ["200:close", "200"])
        let connection = connection(receiver)
        _ = try await connection.send(method: "POST", path: "/1", body: Data("a".utf8))
        try await Task.sleep(for: .milliseconds(50))  // the close has arrived
        let second = try await connection.send(method: "POST", path: "/2", body: Data("b".utf8))
        #expect(second.status == 200)
        #expect(receiver.requests.map(\.body) == ["a", "b"], "sent once each")
        #expect(Set(receiver.requests.map(\.clientPort)).count == 2)
    }

    @Test func headersAreAcknowledgedAtOnceSoASplitBodyIsNotHeldBack() async throws {
        let receiver = try await RecordingReceiver.start(statuses: ["200:split=0.005"])
        let connection = connection(receiver)
        var durations: [Duration] = []
        let clock = ContinuousClock()
        for _ in 1...40 {
            let start = clock.now
            let response = try await connection.send(method: "GET", path: "/")
            #expect(String(decoding: response.body, as: UTF8.self) == "{\"ok\":true}")
            durations.append(clock.now - start)
        }
        let fastest = durations.dropFirst(4).min()!
        // A held body costs at least Linux's 40 ms delayed-ACK minimum; 36 samples leave room for a
        // loaded machine to slow most of them.
        #expect(fastest < .milliseconds(40), "fastest \(fastest) of \(durations): the delayed ACK held the body")
    }

    @Test func refusedConnectionIsTemporaryAndNamesThePeer() async throws {
        let port = closedPort()
        await #expect {
            _ = try await LocalHTTPConnection(host: "127.0.0.1", port: port).send(method: "GET", path: "/")
        } throws: { error in
            let error = error as? TaskShimError
            return error?.status == .temporaryFailure && error?.message.contains("127.0.0.1:\(port)") == true
                && error?.message.contains("refused") == true
        }
    }

    @Test func somethingThatIsNotHTTPIsAProtocolError() async throws {
        let receiver = try await RecordingReceiver.start(statuses: ["200:garbage"])
        await #expect {
            _ = try await connection(receiver).send(method: "GET", path: "/")
        } throws: { error in
            (error as? TaskShimError)?.status == .protocolError
        }
    }

    @Test func anAnswerCutShortIsTemporaryAndTheNextRequestReconnects() async throws {
        let receiver = try await RecordingReceiver.start(statuses: ["200:cut=3", "200"])
        let connection = connection(receiver)
        await #expect {
            _ = try await connection.send(method: "GET", path: "/")
        } throws: { error in
            let error = error as? TaskShimError
            return error?.status == .temporaryFailure && error?.message.contains("middle") == true
        }
        #expect(try await connection.send(method: "GET", path: "/").status == 200)
    }

    @Test func oversizedResponseIsRefused() async throws {
        let receiver = try await RecordingReceiver.start(statuses: ["200:big=100000"])
        await #expect {
            _ = try await connection(receiver, maxResponseBytes: 10_000).send(method: "GET", path: "/")
        } throws: { error in
            let error = error as? TaskShimError
            return error?.status == .protocolError && error?.message.contains("10000 bytes") == true
        }
    }

    @Test func aHugeChunkSizeIsRefusedNotTrustedOrOverflowed() async throws {
        let receiver = try await RecordingReceiver.start(statuses: ["200:hugechunk"])
        await #expect {
            _ = try await connection(receiver).send(method: "GET", path: "/")
        } throws: { error in
            (error as? TaskShimError)?.status == .protocolError
        }
    }

    @Test func aProducerFasterThanTheConnectionWaitsInsteadOfBuffering() async throws {
        let body = StreamingBody(limit: 1000)
        let writes = Atomic<Int>(0)
        let producer = Task {
            for _ in 1...10 {
                try await body.write(Data(repeating: 0x61, count: 400))
                writes.add(1, ordering: .relaxed)
            }
        }
        try await Task.sleep(for: .milliseconds(200))
        #expect(writes.load(ordering: .relaxed) == 2, "the third write would pass the limit: it waits")
        // The sender's side blocks, as on the connection's thread: keep it off the cooperative pool.
        let received = try await offPool {
            var count = 0
            while count < 4000, let part = body.nextPart() { count += part.count }
            return count
        }
        try await producer.value
        #expect(received == 4000 && writes.load(ordering: .relaxed) == 10)
    }

    @Test func aFailedUploadMakesTheProducersNextWriteThrow() async throws {
        let connection = LocalHTTPConnection(host: "127.0.0.1", port: closedPort())
        let body = StreamingBody()
        await #expect(throws: TaskShimError.self) {
            _ = try await connection.send(method: "POST", path: "/stream", streaming: body)
        }
        await #expect(throws: TaskShimError.self) { try await body.write(Data("late".utf8)) }
    }

    @Test func oneCancelledRequestLeavesTheNextOnesAlone() async throws {
        let receiver = try await RecordingReceiver.start(statuses: ["200:slow=20", "200"])
        let connection = connection(receiver)
        let slow = Task { try await connection.send(method: "GET", path: "/slow") }
        try await Task.sleep(for: .milliseconds(200))
        slow.cancel()
        _ = try? await slow.value
        #expect(try await connection.send(method: "GET", path: "/after").status == 200)
    }

    @Test func headersWithLineBreaksAreNotSent() async throws {
        let receiver = try await RecordingReceiver.start()
        await #expect {
            _ = try await connection(receiver).send(method: "GET", path: "/", headers: [("X-A", "b\r\nX-Injected: 1")])
        } throws: { error in
            (error as? TaskShimError)?.status == .usage
        }
        #expect(receiver.requests.isEmpty)
    }

    @Test func endlessInterimAnswersAreRefused() async throws {
        let receiver = try await RecordingReceiver.start(statuses: ["200:interim=50"])
        await #expect {
            _ = try await connection(receiver).send(method: "GET", path: "/")
        } throws: { error in
            (error as? TaskShimError)?.status == .protocolError
        }
    }

    @Test func cancellingAWaitingRequestEndsItAtOnce() async throws {
        let receiver = try await RecordingReceiver.start(statuses: ["200:slow=40"])
        let connection = connection(receiver)
        let clock = ContinuousClock()
        let start = clock.now
        let task = Task { try await connection.send(method: "GET", path: "/next") }
        try await Task.sleep(for: .milliseconds(200))
        task.cancel()
        await #expect {
            _ = try await task.value
        } throws: { error in
            (error as? TaskShimError)?.message.contains("cancelled") == true
        }
        #expect(clock.now - start < .seconds(15), "well before the 40 s answer, even on a loaded machine")
    }
}
