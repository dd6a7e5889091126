import Foundation
import Logging
import Synchronization
import Testing
import TestSupport
@testable import TaskShimClients
@testable import TaskShimCore
@testable import TaskShimHTTP

/// A handler made of a closure, counting its calls.
final class ScriptedHandler: Handler {
    let name = "scripted"
    private let count = Atomic<Int>(0)
    let body: @Sendable (Invocation) async throws -> Data

    init(_ body: @escaping @Sendable (Invocation) async throws -> Data) {
        self.body = body
    }

    var calls: Int { count.load(ordering: .relaxed) }

    func handle(_ invocation: Invocation, context: HandlerContext) async throws -> Data {
        count.add(1, ordering: .relaxed)
        return try await body(invocation)
    }
}

/// The last value a task handed over.
final class Box<Value: Sendable>: Sendable {
    private let value = Mutex<Value?>(nil)
    func set(_ new: Value?) { value.withLock { $0 = new } }
    var current: Value? { value.withLock { $0 } }
}

/// A flag set from a handler.
final class Flag: Sendable {
    private let value = Atomic<Bool>(false)
    func set() { value.store(true, ordering: .relaxed) }
    var isSet: Bool { value.load(ordering: .relaxed) }
}

/// The server in this process, on a free port, against libcurl as the client.
struct FunctionServerTests {
    /// Starts a server, runs `body` with its base URL, then cancels it (SIGTERM's path) and waits.
    func serving(_ handler: ScriptedHandler, configure: (inout FunctionServer.Configuration) -> Void = { _ in },
                 _ body: @Sendable (String) async throws -> Void) async throws {
        var configuration = FunctionServer.Configuration()
        configuration.host = "127.0.0.1"
        configuration.port = 0
        configure(&configuration)
        let env = Environment([:])
        let runner = Runner(logger: Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() }), environment: env,
                            secrets: EnvironmentSecrets(environment: env, redactor: Redactor()), output: MemoryLineWriter())
        let server = FunctionServer(handler: handler, runner: runner, logger: Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() }),
                                    configuration: configuration)
        let port = Atomic<Int>(0)
        let task = Task { try await server.run(onListening: { port.store($0, ordering: .relaxed) }) }
        while port.load(ordering: .relaxed) == 0 { try await Task.sleep(for: .milliseconds(10)) }
        try await body("http://127.0.0.1:\(port.load(ordering: .relaxed))")
        task.cancel()
        try await task.value
    }

    func echo() -> ScriptedHandler { ScriptedHandler { $0.payload } }

    /// Python for the raw-socket tests: imports, and `read_response(f)`, one HTTP/1.1 response from a
    /// socket's file as (status line, body bytes).
    static let readResponse = """
        import socket, sys, time

        def read_response(f):
            status = f.readline().decode().strip()
            length = 0
            while True:
                line = f.readline().decode().strip()
                if not line: break
                if line.lower().startswith("content-length:"): length = int(line.split(":")[1])
            return status, f.read(length)

        """

    @Test func everyPathRunsTheFunctionExceptRobotsAndFavicon() async throws {
        let handler = echo()
        try await serving(handler) { base in
            let client = HTTPClient()
            let posted = try await client.send(HTTPRequest(method: "POST", url: base + "/any/path?x=1", body: Data(#"{"a":1}"#.utf8)))
            #expect(posted.status == 200)
            #expect(String(decoding: posted.body, as: UTF8.self) == #"{"a":1}"#)
            #expect(posted.header("Content-Type") == "application/json")
            #expect(posted.header("ETag") == nil)
            for path in ["/robots.txt", "/favicon.ico"] {
                #expect(try await client.send(HTTPRequest(url: base + path)).status == 404)
            }
            #expect(handler.calls == 1, "the reserved paths never reach the function")
        }
    }

    @Test func aHandlerErrorIs500WithXGoogleStatusAndNoInternals() async throws {
        let failing = ScriptedHandler { _ in throw TaskShimError.temporary("database at 10.0.0.7 down") }
        try await serving(failing) { base in
            let response = try await HTTPClient().send(HTTPRequest(url: base + "/"))
            #expect(response.status == 500)
            #expect(response.header("X-Google-Status") == "error")
            #expect(!String(decoding: response.body, as: UTF8.self).contains("10.0.0.7"))
        }
    }

    /// An error the handler did not mean to throw (anything but a TaskShimError) is a crash.
    @Test func anUnexpectedErrorIs500WithXGoogleStatusCrash() async throws {
        struct Bug: Error {}
        let buggy = ScriptedHandler { _ in throw Bug() }
        try await serving(buggy) { base in
            let response = try await HTTPClient().send(HTTPRequest(url: base + "/"))
            #expect(response.status == 500)
            #expect(response.header("X-Google-Status") == "crash")
        }
    }

    @Test func aHandlerPastTheRequestTimeoutIsCancelledAndAnswered504() async throws {
        let cancelled = Flag()
        let slow = ScriptedHandler { _ in
            do { try await Task.sleep(for: .seconds(30)) } catch { cancelled.set(); throw error }
            return Data()
        }
        try await serving(slow, configure: { $0.requestTimeout = .seconds(1) }) { base in
            let start = ContinuousClock.now
            let response = try await HTTPClient().send(HTTPRequest(url: base + "/"))
            #expect(response.status == 504)
            #expect(ContinuousClock.now - start < .seconds(10))
            #expect(cancelled.isSet)
        }
    }

    /// The connection's timer cancels the request's task at the deadline; a handler that goes on
    /// regardless is still answered 504 when it returns, and the connection serves the next request.
    @Test func aHandlerThatIgnoresCancellationIsStill504PastTheRequestTimeout() async throws {
        let stubborn = ScriptedHandler { invocation in
            if invocation.payload == Data("quick".utf8) { return invocation.payload }
            let end = ContinuousClock.now + .milliseconds(1500)
            while ContinuousClock.now < end { try? await Task.sleep(for: .milliseconds(50)) }
            return Data("finished late".utf8)
        }
        try await serving(stubborn, configure: { $0.requestTimeout = .seconds(1) }) { base in
            let client = HTTPClient()
            let response = try await client.send(HTTPRequest(method: "POST", url: base + "/", body: Data("slow".utf8)))
            #expect(response.status == 504)
            #expect(response.header("X-Google-Status") == "error")
            let next = try await client.send(HTTPRequest(method: "POST", url: base + "/", body: Data("quick".utf8)))
            #expect(next.status == 200)
            #expect(String(decoding: next.body, as: UTF8.self) == "quick")
        }
    }

    @Test func aBodyOverTheLimitIs413AndNeverReachesTheFunction() async throws {
        let handler = echo()
        try await serving(handler, configure: { $0.maxBodyBytes = 1000 }) { base in
            let response = try await HTTPClient().send(HTTPRequest(method: "POST", url: base + "/", body: Data(count: 5000)))
            #expect(response.status == 413)
            #expect(handler.calls == 0)
            let small = try await HTTPClient().send(HTTPRequest(method: "POST", url: base + "/", body: Data(count: 500)))
            #expect(small.status == 200)
        }
    }

    @Test func requestsOverTheConcurrencyLimitAre429() async throws {
        // The first request holds the only slot until the second has been answered, however slow the machine.
        // A wrongly admitted second request returns at once rather than waiting for a release that never comes.
        let inside = Flag(), release = Flag()
        let slow = ScriptedHandler { _ in
            if inside.isSet { return Data("admitted".utf8) }
            inside.set()
            while !release.isSet { try await Task.sleep(for: .milliseconds(10)) }
            return Data("done".utf8)
        }
        try await serving(slow, configure: { $0.maxConcurrentRequests = 1 }) { base in
            async let first = HTTPClient().send(HTTPRequest(url: base + "/1"))
            while !inside.isSet { try await Task.sleep(for: .milliseconds(10)) }
            let second = try await HTTPClient().send(HTTPRequest(url: base + "/2"))
            release.set()
            #expect(second.status == 429)
            #expect(second.header("Retry-After") == "1")
            #expect(try await first.status == 200)
        }
    }

    @Test func slowRequestsAreServedInParallel() async throws {
        let slow = ScriptedHandler { _ in try await Task.sleep(for: .milliseconds(700)); return Data("ok".utf8) }
        try await serving(slow) { base in
            let start = ContinuousClock.now
            let statuses = try await withThrowingTaskGroup(of: Int.self) { group in
                for index in 0..<10 {
                    group.addTask { try await HTTPClient().send(HTTPRequest(url: base + "/\(index)")).status }
                }
                return try await group.reduce(into: []) { $0.append($1) }
            }
            #expect(statuses == Array(repeating: 200, count: 10))
            #expect(ContinuousClock.now - start < .seconds(5), "ten 0.7 s requests at once, not one after another")
        }
    }

    @Test func stoppingLetsARequestInFlightFinish() async throws {
        let started = Flag()
        let slow = ScriptedHandler { _ in
            started.set()
            try await Task.sleep(for: .milliseconds(600))
            return Data("finished".utf8)
        }
        let answer = Box<HTTPResponse>()
        try await serving(slow) { base in
            Task {
                let response = try? await HTTPClient().send(HTTPRequest(url: base + "/"))
                answer.set(response)
            }
            while !started.isSet { try await Task.sleep(for: .milliseconds(10)) }
        }
        // `serving` cancelled the server mid-request and waited for it to stop.
        let end = ContinuousClock.now + .seconds(10)
        while answer.current == nil && ContinuousClock.now < end { try await Task.sleep(for: .milliseconds(20)) }
        let response = answer.current
        #expect(response?.status == 200)
        #expect(response.map { String(decoding: $0.body, as: UTF8.self) } == "finished")
    }

    @Test func healthProbesAreAnsweredByTheServerEvenWhenSaturated() async throws {
        let release = Flag()
        let slow = ScriptedHandler { _ in
            while !release.isSet { try await Task.sleep(for: .milliseconds(5)) }
            return Data("done".utf8)
        }
        try await serving(slow, configure: { $0.maxConcurrentRequests = 1; $0.healthPath = "/healthz" }) { base in
            let busy = Task { try await HTTPClient().send(HTTPRequest(url: base + "/work")) }
            while slow.calls == 0 { try await Task.sleep(for: .milliseconds(5)) }
            #expect(try await HTTPClient().send(HTTPRequest(url: base + "/other")).status == 429)
            let probe = try await HTTPClient().send(HTTPRequest(url: base + "/healthz?from=alb"))
            #expect(probe.status == 200)
            let port = Int(base.split(separator: ":").last!)!
            let asterisk = try await LocalHTTPConnection(host: "127.0.0.1", port: port).send(method: "OPTIONS", path: "*")
            #expect(asterisk.status == 200)
            // POST to the probe path is the function's (saturated here).
            #expect(try await HTTPClient().send(HTTPRequest(method: "POST", url: base + "/healthz", body: Data())).status == 429)
            release.set()
            #expect(try await busy.value.status == 200)
        }
        #expect(slow.calls == 1)
    }

    /// Sends `request` raw over TCP with Python and returns the status line of the answer.
    func rawStatusLine(_ base: String, _ request: String) async throws -> String {
        let port = String(base.split(separator: ":").last!)
        let script = """
            import socket, sys
            s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=10)
            s.sendall(sys.argv[2].encode())
            print(s.makefile("rb").readline().decode().strip())
            """
        let result = try await runProcessAsync("/usr/bin/env", ["python3", "-c", script, port, request])
        return result.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    @Test func headersOverTheLimitsAreRefusedAndNeverReachTheFunction() async throws {
        let handler = echo()
        try await serving(handler) { base in
            let huge = String(repeating: "a", count: 100_000)
            let line = try await rawStatusLine(base, "GET / HTTP/1.1\r\nHost: x\r\nX-Big: \(huge)\r\n\r\n")
            #expect(line.hasPrefix("HTTP/1.1 400"), "\(line)")
            let many = (0..<3000).map { "X-H\($0): value-\($0)\r\n" }.joined()
            let manyLine = try await rawStatusLine(base, "GET / HTTP/1.1\r\nHost: x\r\n\(many)\r\n")
            #expect(manyLine.hasPrefix("HTTP/1.1 431"), "\(manyLine)")
            let fine = try await rawStatusLine(base, "GET / HTTP/1.1\r\nHost: x\r\nX-Ok: \(String(repeating: "b", count: 8000))\r\n\r\n")
            #expect(fine.hasPrefix("HTTP/1.1 200"), "\(fine)")
        }
        #expect(handler.calls == 1)
    }

    @Test func aBodyThatDoesNotArriveWithinTheReadTimeoutIs408() async throws {
        let handler = echo()
        try await serving(handler, configure: { $0.readTimeout = .seconds(1) }) { base in
            // Timed by the client from its last byte, so a loaded machine's slow process start does not count.
            let script = """
                import socket, sys, time
                s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=30)
                s.sendall(b"POST / HTTP/1.1\\r\\nHost: x\\r\\nContent-Length: 100\\r\\n\\r\\nonly-a-little")
                sent = time.monotonic()
                print(s.makefile("rb").readline().decode().strip())
                print(time.monotonic() - sent)
                """
            let result = try await runProcessAsync("/usr/bin/env", ["python3", "-c", script, String(base.split(separator: ":").last!)])
            let lines = result.stdoutLines
            #expect(lines.first?.hasPrefix("HTTP/1.1 408") == true, "\(result.stdout)\(result.stderr)")
            let waited = try #require(lines.last.flatMap(Double.init))
            #expect(waited >= 0.9 && waited < 6, "the read timeout is 1 s: answered after \(waited) s")
        }
        #expect(handler.calls == 0)
    }

    @Test func pipelinedRequestsAreAnsweredInOrderOneAtATime() async throws {
        let running = Atomic<Int>(0)
        let overlapped = Flag()
        let handler = ScriptedHandler { invocation in
            if running.add(1, ordering: .relaxed).newValue > 1 { overlapped.set() }
            try await Task.sleep(for: .milliseconds(30))
            running.subtract(1, ordering: .relaxed)
            return invocation.payload
        }
        try await serving(handler) { base in
            let port = String(base.split(separator: ":").last!)
            let script = Self.readResponse + """
                s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=10)
                s.sendall(b"".join(b"POST /%d HTTP/1.1\\r\\nHost: x\\r\\nContent-Length: 5\\r\\n\\r\\nbody%d" % (i, i) for i in range(3)))
                f = s.makefile("rb")
                for _ in range(3):
                    status, body = read_response(f)
                    print(status, body.decode())
                """
            let result = try await runProcessAsync("/usr/bin/env", ["python3", "-c", script, port])
            #expect(result.stdoutLines == ["HTTP/1.1 200 OK body0", "HTTP/1.1 200 OK body1", "HTTP/1.1 200 OK body2"], "\(result.stdout)\(result.stderr)")
        }
        #expect(!overlapped.isSet, "one request at a time per connection")
    }

    @Test func anIdleConnectionIsClosedButNotOneWhoseRequestIsRunning() async throws {
        let handler = ScriptedHandler { invocation in
            try await Task.sleep(for: .milliseconds(1500))
            return invocation.payload
        }
        try await serving(handler, configure: { $0.idleTimeout = .milliseconds(500) }) { base in
            let port = String(base.split(separator: ":").last!)
            let script = """
                import socket, sys, time
                port = int(sys.argv[1])
                idle = socket.create_connection(("127.0.0.1", port), timeout=10)
                start = time.monotonic()
                closed = idle.recv(1) == b""
                print("idle-closed" if closed and time.monotonic() - start < 5 else "idle-open")
                busy = socket.create_connection(("127.0.0.1", port), timeout=10)
                busy.sendall(b"POST / HTTP/1.1\\r\\nHost: x\\r\\nContent-Length: 2\\r\\n\\r\\nok")
                print(busy.makefile("rb").readline().decode().strip())
                """
            let result = try await runProcessAsync("/usr/bin/env", ["python3", "-c", script, port])
            #expect(result.stdoutLines == ["idle-closed", "HTTP/1.1 200 OK"], "\(result.stdout)\(result.stderr)")
        }
    }

    /// A connection's requests run one after another in one task that waits between them: each run
    /// still has its own deadline, a client that hangs up mid-request stops nobody else, and the
    /// server stops with idle keep-alive connections open.
    @Test func requestsOnOneConnectionEachGetTheirOwnRunAndAHangUpStopsNothing() async throws {
        let handler = ScriptedHandler { invocation in
            if invocation.payload == Data("slow".utf8) { try? await Task.sleep(for: .milliseconds(300)) }
            let deadline = try #require(Deadline.current)
            return Data("\(invocation.requestID) \(deadline.timeIntervalSince1970)".utf8)
        }
        try await serving(handler, configure: { $0.requestTimeout = .seconds(30) }) { base in
            let port = String(base.split(separator: ":").last!)
            let script = Self.readResponse + """
                port = int(sys.argv[1])
                gone = socket.create_connection(("127.0.0.1", port), timeout=10)
                gone.sendall(b"POST / HTTP/1.1\\r\\nHost: x\\r\\nContent-Length: 4\\r\\n\\r\\nslow")
                gone.close()
                kept = socket.create_connection(("127.0.0.1", port), timeout=10)
                reader = kept.makefile("rb")
                for body in [b"a", b"slow", b"b"]:
                    kept.sendall(b"POST / HTTP/1.1\\r\\nHost: x\\r\\nContent-Length: %d\\r\\n\\r\\n%s" % (len(body), body))
                    status, answer = read_response(reader)
                    print(status, answer.decode())
                    time.sleep(0.05)
                """
            let result = try await runProcessAsync("/usr/bin/env", ["python3", "-c", script, port])
            let lines = result.stdoutLines
            #expect(lines.count == 3, "\(result.stdout)\(result.stderr)")
            #expect(lines.allSatisfy { $0.hasPrefix("HTTP/1.1 200 OK ") })
            let runs = lines.map { $0.split(separator: " ").suffix(2) }
            #expect(Set(runs.map { $0.first! }).count == 3, "each request is its own run")
            let deadlines = runs.compactMap { Double($0.last!) }
            #expect(deadlines.count == 3 && deadlines == deadlines.sorted() && Set(deadlines).count == 3,
                    "each run's deadline counts from its own request: \(deadlines)")
        }
    }

    /// Responses reuse the connection's last response buffer once it is written: a large answer still
    /// being written when the next is encoded, and small ones after it, all arrive whole.
    @Test func largeAndSmallAnswersOnOneConnectionArriveWhole() async throws {
        let handler = ScriptedHandler { invocation in
            let size = Int(String(decoding: invocation.payload, as: UTF8.self)) ?? 0
            return Data((0..<size).map { UInt8(ascii: "a") + UInt8($0 % 26) })
        }
        try await serving(handler) { base in
            let port = String(base.split(separator: ":").last!)
            let script = Self.readResponse + """
                port = int(sys.argv[1])
                s = socket.create_connection(("127.0.0.1", port), timeout=10)
                sizes = [3000000, 5, 40000, 3000000, 7]
                for size in sizes:
                    body = str(size).encode()
                    s.sendall(b"POST / HTTP/1.1\\r\\nHost: x\\r\\nContent-Length: %d\\r\\n\\r\\n%s" % (len(body), body))
                reader = s.makefile("rb")
                for size in sizes:
                    status, data = read_response(reader)
                    expected = bytes(97 + i % 26 for i in range(size))
                    print(status, len(data), data == expected)
                """
            let result = try await runProcessAsync("/usr/bin/env", ["python3", "-c", script, port])
            #expect(result.stdoutLines == ["HTTP/1.1 200 OK 3000000 True", "HTTP/1.1 200 OK 5 True", "HTTP/1.1 200 OK 40000 True",
                                           "HTTP/1.1 200 OK 3000000 True", "HTTP/1.1 200 OK 7 True"], "\(result.stdout)\(result.stderr)")
        }
    }

    @Test func headHTTP10AndExpectContinueAreAnsweredByTheBook() async throws {
        let handler = ScriptedHandler { _ in Data("hello".utf8) }
        try await serving(handler) { base in
            let port = String(base.split(separator: ":").last!)
            let script = """
                import socket, sys
                port = int(sys.argv[1])
                def exchange(raw, then=None):
                    s = socket.create_connection(("127.0.0.1", port), timeout=5)
                    s.sendall(raw)
                    if then is not None:
                        print(repr(s.recv(100)))
                        s.sendall(then)
                    data = b""
                    while True:
                        try:
                            part = s.recv(4096)
                        except socket.timeout:
                            break
                        if not part: break
                        data += part
                        if b"\\r\\n\\r\\n" in data and (data.endswith(b"hello") or b"HEAD" in raw): s.settimeout(0.3)
                    print(repr(data))
                exchange(b"HEAD / HTTP/1.1\\r\\nHost: x\\r\\nConnection: close\\r\\n\\r\\n")
                exchange(b"GET / HTTP/1.0\\r\\n\\r\\n")
                exchange(b"POST / HTTP/1.1\\r\\nHost: x\\r\\nExpect: 100-continue\\r\\nContent-Length: 2\\r\\nConnection: close\\r\\n\\r\\n", b"hi")
                """
            let result = try await runProcessAsync("/usr/bin/env", ["python3", "-c", script, port])
            let lines = result.stdoutLines
            #expect(lines.count == 4, "\(result.stdout)\(result.stderr)")
            guard lines.count == 4 else { return }
            #expect(lines[0].hasPrefix("b'HTTP/1.1 200 OK") && lines[0].contains("Content-Length: 5") && lines[0].hasSuffix("\\r\\n\\r\\n'"),
                    "HEAD: the length, no body: \(lines[0])")
            #expect(lines[1].hasPrefix("b'HTTP/1.0 200 OK") && lines[1].contains("Connection: close") && lines[1].hasSuffix("hello'"), "\(lines[1])")
            #expect(lines[2] == "b'HTTP/1.1 100 Continue\\r\\n\\r\\n'", "\(lines[2])")
            #expect(lines[3].hasPrefix("b'HTTP/1.1 200 OK") && lines[3].hasSuffix("hello'"), "\(lines[3])")
        }
    }

    /// curl with HTTP/2 prior knowledge (h2c), as Cloud Run's "HTTP/2 end-to-end" connects.
    func curlH2(_ arguments: [String]) async throws -> ProcessResult {
        try await runProcessAsync("/usr/bin/curl", ["-s", "--http2-prior-knowledge"] + arguments)
    }

    @Test func h2cIsServedOnTheSamePortAsHTTP1() async throws {
        let handler = ScriptedHandler { invocation in
            try await Task.sleep(for: .milliseconds(600))
            return invocation.payload
        }
        try await serving(handler, configure: { $0.maxBodyBytes = 1000 }) { base in
            let echoed = try await curlH2(["-d", "over h2", "-w", "\\n%{http_version} %{http_code}", base + "/x"])
            #expect(echoed.stdoutLines == ["over h2", "2 200"], "\(echoed.stdout)\(echoed.stderr)")
            // Five requests as five streams of one connection, served at once.
            let start = ContinuousClock.now
            let urls = (0..<5).map { base + "/\($0)" }
            let parallel = try await curlH2(["--parallel", "--parallel-immediate", "-w", "%{http_version} %{http_code} %{num_connects}\\n"]
                                            + urls.flatMap { ["-d", "x", $0] })
            #expect(parallel.stdout.components(separatedBy: "2 200").count - 1 == 5, "\(parallel.stdout)")
            #expect(ContinuousClock.now - start < .milliseconds(2500), "five 0.6 s requests at once, not one after another (3 s)")
            let tooLarge = try await curlH2(["-d", String(repeating: "a", count: 5000), "-w", "%{http_code}", "-o", "/dev/null", base + "/big"])
            #expect(tooLarge.stdout == "413")
            let favicon = try await curlH2(["-w", "%{http_code}", "-o", "/dev/null", base + "/favicon.ico"])
            #expect(favicon.stdout == "404")
            // And HTTP/1.1 on the same port.
            let plain = try await HTTPClient().send(HTTPRequest(method: "POST", url: base + "/y", body: Data("h1".utf8)))
            #expect(String(decoding: plain.body, as: UTF8.self) == "h1")
        }
        #expect(handler.calls == 7)
    }

    @Test func aConnectionThatSendsNothingIsClosedAfterTheIdleTimeout() async throws {
        try await serving(echo(), configure: { $0.idleTimeout = .milliseconds(300) }) { base in
            let port = String(base.split(separator: ":").last!)
            let script = """
                import socket, sys, time
                s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=10)
                start = time.monotonic()
                print("closed" if s.recv(1) == b"" else "data", round(time.monotonic() - start))
                """
            let result = try await runProcessAsync("/usr/bin/env", ["python3", "-c", script, port])
            #expect(result.stdoutLines == ["closed 0"], "\(result.stdout)\(result.stderr)")
        }
    }
}
