import Foundation
import Testing
import TestSupport
@testable import TaskShimClients
@testable import TaskShimCore

/// Against a real HTTP server on loopback (Python's http.server, Tests/Support/http_receiver.py).
struct HTTPClientTests {
    @Test func postsBodyAndHeadersAndReusesTheConnection() async throws {
        let receiver = try await RecordingReceiver.start()
        let client = HTTPClient()
        for index in 1...3 {
            let response = try await client.send(HTTPRequest(method: "POST", url: receiver.url,
                                                             headers: [("Content-Type", "application/json"), ("X-N", "\(index)")],
                                                             body: Data("{\"n\":\(index)}".utf8)))
            #expect(response.status == 200)
            #expect(response.header("Content-Type") == "application/json")
            #expect(String(decoding: response.body, as: UTF8.self) == "{\"ok\":true}")
        }
        let requests = receiver.requests
        #expect(requests.map(\.body) == ["{\"n\":1}", "{\"n\":2}", "{\"n\":3}"])
        #expect(requests.map { $0.headers["x-n"] } == ["1", "2", "3"])
        #expect(requests.allSatisfy { $0.method == "POST" && $0.path == "/ingest" })
        #expect(Set(requests.map(\.clientPort)).count == 1, "keep-alive: one TCP connection for all three")
    }

    /// The server sends headers and body in two writes with Nagle's algorithm on, so the body waits for
    /// the ACK of the headers: without acknowledging them at once, each request costs the 40 ms
    /// delayed-ACK timer once the connection is interactive.
    @Test func headersAreAcknowledgedAtOnceSoASplitBodyIsNotHeldBack() async throws {
        let receiver = try await RecordingReceiver.start(statuses: ["200:split=0.005"])
        let client = HTTPClient()
        var durations: [Duration] = []
        let clock = ContinuousClock()
        for _ in 1...40 {
            let start = clock.now
            let response = try await client.send(HTTPRequest(url: receiver.url))
            #expect(String(decoding: response.body, as: UTF8.self) == "{\"ok\":true}")
            durations.append(clock.now - start)
        }
        // Once the connection is interactive every held body costs at least 40 ms (Linux's minimum
        // delayed-ACK timer), so even the fastest request shows it; the minimum also holds up when a
        // loaded machine slows the others.
        let fastest = durations.dropFirst(4).min()!
        #expect(fastest < .milliseconds(40), "fastest \(fastest) of \(durations): the delayed ACK held the body")
    }

    @Test func aRequestEndsAtTheRunsDeadlineNotAtItsOwnTimeout() async throws {
        let receiver = try await RecordingReceiver.start(statuses: ["200:slow=5"])
        let start = ContinuousClock.now
        do {
            _ = try await Deadline.$current.withValue(Date().addingTimeInterval(0.5)) {
                try await HTTPClient().send(HTTPRequest(url: receiver.url))
            }
            Issue.record("a 5 s answer arrived within a 0.5 s deadline")
        } catch {
            #expect((error as? TaskShimError)?.status == .temporaryFailure, "\(error)")
        }
        #expect(ContinuousClock.now - start < .seconds(3))
    }

    @Test func nonSuccessStatusesAreReturnedNotThrown() async throws {
        let receiver = try await RecordingReceiver.start(statuses: ["503"])
        let response = try await HTTPClient().send(HTTPRequest(url: receiver.url))
        #expect(response.status == 503)
    }

    @Test func refusedConnectionIsTemporary() async throws {
        let port = closedPort()
        do {
            _ = try await HTTPClient().send(HTTPRequest(url: "http://127.0.0.1:\(port)/x?token=secret-in-query"))
            Issue.record("expected an error")
        } catch let error as TaskShimError {
            #expect(error.status == .temporaryFailure)
            #expect(error.message.contains("127.0.0.1:\(port)"))
            #expect(!error.description.contains("secret-in-query"))
        }
    }

    @Test func slowServerTimesOut() async throws {
        let receiver = try await RecordingReceiver.start(statuses: ["200:slow=10"])
        let client = HTTPClient(options: .init(requestTimeout: .milliseconds(300)))
        let start = Date()
        do {
            _ = try await client.send(HTTPRequest(url: receiver.url))
            Issue.record("expected an error")
        } catch let error as TaskShimError {
            #expect(error.status == .temporaryFailure)
            #expect(error.message.contains("timed out"))
        }
        // Well before the server's answer at 10 s (generous: other tests may hold the test threads).
        #expect(Date().timeIntervalSince(start) < 8)
    }

    @Test func cancellingTheTaskAbortsTheTransfer() async throws {
        let receiver = try await RecordingReceiver.start(statuses: ["200:slow=20"])
        let client = HTTPClient()
        try await expectCancellationAborts(Task { try await client.send(HTTPRequest(url: receiver.url)) })
    }

    @Test func aTaskOnTheClientsExecutorSendsInlineAndCanStillCancel() async throws {
        let receiver = try await RecordingReceiver.start(statuses: ["200", "200:slow=20"])
        let client = HTTPClient()
        let first = try await withTaskExecutorPreference(client.executor) {
            try await client.send(HTTPRequest(url: receiver.url))
        }
        #expect(first.status == 200)
        try await expectCancellationAborts(Task(executorPreference: client.executor) {
            try await client.send(HTTPRequest(url: receiver.url))
        })
    }

    /// Cancels `task`, a request to a server that answers after 20 s, and expects it to end at once.
    private func expectCancellationAborts(_ task: Task<HTTPResponse, any Error>) async throws {
        let start = Date()
        try await Task.sleep(for: .milliseconds(200))
        task.cancel()
        do {
            _ = try await task.value
            Issue.record("expected an error")
        } catch let error as TaskShimError {
            #expect(error.status == .temporaryFailure)
            #expect(error.message.contains("cancelled"))
        }
        #expect(Date().timeIntervalSince(start) < 10)
    }

    @Test func oversizedResponseIsRefused() async throws {
        let receiver = try await RecordingReceiver.start(statuses: ["200:big=100000"])
        let client = HTTPClient(options: .init(maxResponseBytes: 1000))
        do {
            _ = try await client.send(HTTPRequest(url: receiver.url))
            Issue.record("expected an error")
        } catch let error as TaskShimError {
            #expect(error.status == .protocolError)
        }
    }

    @Test func tlsIsVerifiedByDefault() async throws {
        let certificate = try SelfSignedCertificate()
        let receiver = try await RecordingReceiver.start(tls: certificate)
        do {
            _ = try await HTTPClient().send(HTTPRequest(url: receiver.url))
            Issue.record("an untrusted certificate must be refused")
        } catch let error as TaskShimError {
            #expect(error.status == .unavailable)
            #expect(error.message.contains("TLS verification"))
            #expect(error.hint.contains("TASKSHIM_CA_FILE"))
        }
        #expect(receiver.requests.isEmpty)
        let trusting = HTTPClient(options: .init(caFile: certificate.certificate))
        let response = try await trusting.send(HTTPRequest(method: "POST", url: receiver.url, body: Data("{}".utf8)))
        #expect(response.status == 200)
        #expect(receiver.requests.count == 1)
    }

    @Test func badURLIsAConfigurationError() async throws {
        do {
            _ = try await HTTPClient().send(HTTPRequest(url: "ftp://example.invalid/x"))
            Issue.record("expected an error")
        } catch let error as TaskShimError {
            #expect(error.status == .configuration)
        }
    }

    @Test func libraryVersionsAreReported() {
        let names = LibraryVersions.all.map(\.name)
        #expect(names == ["libpq", "libcurl", "openssl", "sqlite", "hiredis"])
        #expect(LibraryVersions.all.allSatisfy { !$0.version.isEmpty && $0.version.first!.isNumber || $0.version.hasPrefix("OpenSSL") })
    }
}
