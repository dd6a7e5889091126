import Foundation
import Synchronization
import TaskShimCore

/// Fails a test loudly when a server it needs is not configured: integration tests never skip.
public struct MissingServer: Error, CustomStringConvertible {
    public let description: String
}

/// The real local servers that `scripts/test` starts.
public enum TestServers {
    /// `TASKSHIM_TEST_DATABASE_URL`, set by scripts/test to the local PostgreSQL.
    public static func postgresURL() throws -> String {
        guard let url = ProcessInfo.processInfo.environment["TASKSHIM_TEST_DATABASE_URL"], !url.isEmpty else {
            throw MissingServer(description: "TASKSHIM_TEST_DATABASE_URL is not set: run the tests through ./scripts/test, which starts PostgreSQL.")
        }
        return url
    }

    /// `TASKSHIM_TEST_REDIS_URL`, set by scripts/test to the local Redis.
    public static func redisURL() throws -> String {
        guard let url = ProcessInfo.processInfo.environment["TASKSHIM_TEST_REDIS_URL"], !url.isEmpty else {
            throw MissingServer(description: "TASKSHIM_TEST_REDIS_URL is not set: run the tests through ./scripts/test, which starts Redis.")
        }
        return url
    }

    /// `TASKSHIM_TEST_DATABASE_CA`: the certificate the local PostgreSQL serves TLS with.
    public static func postgresCertificate() throws -> String {
        guard let path = ProcessInfo.processInfo.environment["TASKSHIM_TEST_DATABASE_CA"], !path.isEmpty else {
            throw MissingServer(description: "TASKSHIM_TEST_DATABASE_CA is not set: run the tests through ./scripts/test.")
        }
        return path
    }
}

/// Paths inside the repository, found from this source file.
public enum RepositoryPaths {
    public static let root: URL = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    public static func path(_ relative: String) -> String {
        root.appendingPathComponent(relative).path
    }

    /// The `runtime` binary built next to the test bundle.
    public static var runtimeBinary: String { builtExecutable("runtime") }

    /// Tests/EmbeddedRuntime: `runtime` as an embedder builds it, with handlers that misbehave.
    public static var embeddedRuntimeBinary: String { builtExecutable("embedded-runtime") }

    public static func builtExecutable(_ name: String) -> String {
        let executable = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath()
        var directory = executable.deletingLastPathComponent()
        for _ in 0..<4 {
            let candidate = directory.appendingPathComponent(name).path
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
            directory = directory.deletingLastPathComponent()
        }
        return root.appendingPathComponent(".build/debug/\(name)").path
    }
}

/// A fresh temporary directory, removed when the value is deinitialised.
public final class TemporaryDirectory: @unchecked Sendable {
    public let path: String

    public init() throws {
        path = NSTemporaryDirectory() + "taskshim-test-" + UUID().uuidString.prefix(8)
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }

    public func file(_ name: String) -> String { (path as NSString).appendingPathComponent(name) }

    /// Writes `name` (its directories created), returns its path.
    @discardableResult
    public func write(_ name: String, _ contents: String) throws -> String {
        try write(name, Data(contents.utf8))
    }

    @discardableResult
    public func write(_ name: String, _ contents: Data) throws -> String {
        let target = file(name)
        try FileManager.default.createDirectory(atPath: (target as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        try contents.write(to: URL(fileURLWithPath: target), options: .atomic)
        return target
    }

    deinit { try? FileManager.default.removeItem(atPath: path) }
}

/// What a finished child process left.
public struct ProcessResult: Sendable {
    public var status: Int32
    public var stdout: String
    public var stderr: String

    public var stdoutLines: [String] { stdout.split(separator: "\n").map(String.init) }
    public var stderrLines: [String] { stderr.split(separator: "\n").map(String.init) }
}

/// Runs a program to completion with a clean environment plus `environment`. `whileRunning` is
/// called with the child's pid once it has started (to signal it mid-run).
///
/// The child's standard streams are files, not pipes: tests start processes concurrently, and a
/// long-lived child started at the same moment by another test can inherit the write end of a pipe,
/// so reading it "to the end" would wait for that other child (seen: a minute, until a receiver
/// went away). A file has no end to wait for; the exit is waited for instead.
public func runProcess(_ executable: String, _ arguments: [String], environment: [String: String] = [:],
                       directory: String? = nil, input: Data? = nil,
                       whileRunning: (@Sendable (Int32) -> Void)? = nil) throws -> ProcessResult {
    let streams = try TemporaryDirectory()
    let outPath = streams.file("stdout"), errPath = streams.file("stderr"), inPath = streams.file("stdin")
    _ = FileManager.default.createFile(atPath: outPath, contents: nil)
    _ = FileManager.default.createFile(atPath: errPath, contents: nil)
    _ = FileManager.default.createFile(atPath: inPath, contents: input ?? Data())
    let process = Process()
    process.executableURL = URL(fileURLWithPath: executable)
    process.arguments = arguments
    var env = ["PATH": ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin", "HOME": NSTemporaryDirectory()]
    env.merge(environment) { _, new in new }
    process.environment = env
    if let directory { process.currentDirectoryURL = URL(fileURLWithPath: directory) }
    let out = try FileHandle(forWritingTo: URL(fileURLWithPath: outPath))
    let err = try FileHandle(forWritingTo: URL(fileURLWithPath: errPath))
    let inp = try FileHandle(forReadingFrom: URL(fileURLWithPath: inPath))
    process.standardOutput = out
    process.standardError = err
    process.standardInput = inp
    try process.run()
    try? out.close()
    try? err.close()
    try? inp.close()
    if let whileRunning {
        let pid = process.processIdentifier
        onOwnThread { whileRunning(pid) }
    }
    waitForExit(process, timeout: 300)
    let stdout = (try? String(contentsOfFile: outPath, encoding: .utf8)) ?? ""
    let stderr = (try? String(contentsOfFile: errPath, encoding: .utf8)) ?? ""
    Canary.check(stdout + stderr, from: ([executable] + arguments).joined(separator: " "))
    return ProcessResult(status: process.isRunning ? -1 : process.terminationStatus, stdout: stdout, stderr: stderr)
}

/// ``runProcess(_:_:environment:directory:input:whileRunning:)`` on a dispatch thread, for async tests:
/// waiting for a child on Swift's cooperative pool (one thread per core) can starve the very server
/// the child is talking to.
public func runProcessAsync(_ executable: String, _ arguments: [String], environment: [String: String] = [:],
                            directory: String? = nil, input: Data? = nil,
                            whileRunning: (@Sendable (Int32) -> Void)? = nil) async throws -> ProcessResult {
    try await offPool { try runProcess(executable, arguments, environment: environment, directory: directory, input: input, whileRunning: whileRunning) }
}

/// Runs blocking test code (waiting for a child process, polling a port) on a thread of its own, so it
/// never holds one of the cooperative pool's few threads (seen: other tests' timers stalled for 15 s).
public func offPool<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
    try await withCheckedThrowingContinuation { continuation in
        onOwnThread { continuation.resume(with: Result { try body() }) }
    }
}

/// Runs blocking work on a new thread. Not `DispatchQueue.global()`: on Linux Swift's cooperative
/// pool is that same queue, so blocking there starves every async test in the process.
public func onOwnThread(_ body: @escaping @Sendable () -> Void) {
    let thread = Thread(block: body)
    thread.stackSize = 1 << 20
    thread.start()
}

/// Kills a child and waits for it on a thread of its own. Deinitializers run on whatever thread lets
/// go last, often one of the cooperative pool's two: waiting there (up to a minute when Foundation is
/// slow to notice the exit) froze every other test's timers and continuations.
public func reapInBackground(_ process: Process) {
    kill(process.processIdentifier, SIGKILL)
    let box = UncheckedSendable(process)
    onOwnThread { waitForExit(box.value) }
}

/// A value handed to another thread by a test that knows it is safe.
public struct UncheckedSendable<Value>: @unchecked Sendable {
    public let value: Value
    public init(_ value: Value) { self.value = value }
}

/// Polls until the child has exited. `Process.waitUntilExit()` spins a run loop that can hang when
/// called from a Swift concurrency thread, so tests never call it.
public func waitForExit(_ process: Process, timeout: TimeInterval = 60) {
    let end = Date().addingTimeInterval(timeout)
    while process.isRunning && Date() < end { usleep(5_000) }
}

/// A real HTTP server on loopback (Python's http.server) that records every request and answers
/// with scripted statuses. It plays the telemetry endpoint in tests.
public final class RecordingReceiver: @unchecked Sendable {
    public struct Request: Sendable {
        public var method: String
        public var path: String
        public var headers: [String: String]
        public var body: String
        public var clientPort: Int
        /// The trailers of a chunked request body (names lower-cased).
        public var trailers: [String: String]

        /// The body parsed as JSON.
        public var json: Any? { try? JSONSerialization.jsonObject(with: Data(body.utf8)) }
        /// The `records` array of a telemetry batch.
        public var records: [[String: Any]] { ((json as? [String: Any])?["records"] as? [[String: Any]]) ?? [] }
    }

    public var port: Int { server.port }
    private let server: PortServer
    private let log: TemporaryDirectory
    public let scheme: String

    /// Starts the receiver; `statuses` are answered in turn, the last one repeating. With `tls`, it
    /// serves HTTPS with that certificate.
    public init(statuses: [String] = ["200"], tls: SelfSignedCertificate? = nil) throws {
        log = try TemporaryDirectory()
        let tlsArguments = tls.map { ["--tls", $0.certificate, $0.key] } ?? []
        scheme = tls == nil ? "http" : "https"
        server = try PortServer(["python3", RepositoryPaths.path("Tests/Support/http_receiver.py")] + tlsArguments
                                + [log.file("requests.jsonl")] + statuses)
    }

    /// Starts the receiver off the cooperative pool (the Python interpreter takes a while to listen).
    public static func start(statuses: [String] = ["200"], tls: SelfSignedCertificate? = nil) async throws -> RecordingReceiver {
        try await offPool { try RecordingReceiver(statuses: statuses, tls: tls) }
    }

    public var url: String { "\(scheme)://127.0.0.1:\(port)/ingest" }

    public var requests: [Request] {
        guard let text = try? String(contentsOfFile: log.file("requests.jsonl"), encoding: .utf8) else { return [] }
        return text.split(separator: "\n").compactMap { line in
            guard let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any] else { return nil }
            return Request(method: object["method"] as? String ?? "", path: object["path"] as? String ?? "",
                           headers: object["headers"] as? [String: String] ?? [:], body: object["body"] as? String ?? "",
                           clientPort: object["client_port"] as? Int ?? 0,
                           trailers: object["trailers"] as? [String: String] ?? [:])
        }
    }
}

/// A child process that prints `PORT <n>` once it listens; killed when the value goes away.
public final class PortServer: @unchecked Sendable {
    public let port: Int
    private let process: Process

    /// Starts `arguments` (run through /usr/bin/env) and waits for its `PORT <n>` line.
    public init(_ arguments: [String], directory: String? = nil) throws {
        process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = arguments
        if let directory { process.currentDirectoryURL = URL(fileURLWithPath: directory) }
        let out = Pipe()
        process.standardOutput = out
        try process.run()
        var line = Data()
        while true {
            let byte = out.fileHandleForReading.readData(ofLength: 1)
            if byte.isEmpty || byte == Data("\n".utf8) { break }
            line.append(byte)
        }
        let text = String(decoding: line, as: UTF8.self)
        guard text.hasPrefix("PORT "), let port = Int(text.dropFirst(5)) else {
            kill(process.processIdentifier, SIGKILL)
            throw MissingServer(description: "\(arguments.prefix(2).joined(separator: " ")) did not start (said '\(text)').")
        }
        self.port = port
    }

    public var isRunning: Bool { process.isRunning }

    /// Kills the server (SIGKILL, as a crash would) and waits until it is gone.
    public func stop() async throws {
        let process = process
        kill(process.processIdentifier, SIGKILL)
        try await offPool { waitForExit(process, timeout: 10) }
    }

    deinit { reapInBackground(process) }
}

/// A self-signed certificate for 127.0.0.1 and localhost, made with the openssl command.
public final class SelfSignedCertificate: @unchecked Sendable {
    private let directory: TemporaryDirectory
    public var certificate: String { directory.file("cert.pem") }
    public var key: String { directory.file("key.pem") }

    /// For `names` (subjectAltName entries), by default 127.0.0.1 and localhost.
    public init(names: [String] = ["IP:127.0.0.1", "DNS:localhost"]) throws {
        directory = try TemporaryDirectory()
        let result = try runProcess("/usr/bin/env", ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
                                                      "-subj", "/CN=localhost", "-addext", "subjectAltName=" + names.joined(separator: ","),
                                                      "-keyout", directory.file("key.pem"), "-out", directory.file("cert.pem")])
        guard result.status == 0 else {
            throw MissingServer(description: "openssl could not make a test certificate: \(result.stderr)")
        }
    }
}

/// A loopback port with nothing listening: connecting is refused at once, and a server the test
/// starts there (the Lambda emulator, `runtime serve`) can bind it.
private let handedOutPorts = Mutex<Set<Int>>([])

public func closedPort() -> Int {
    // Outside Linux's ephemeral range (32768-60999): a server that binds port 0 (the Python peers)
    // can then never be handed the port between this check and its user binding it. Never the same
    // port twice in a run: two tests that drew it at once would both find it free.
    while true {
        let port = Int.random(in: 20_000..<32_000)
        guard handedOutPorts.withLock({ $0.insert(port).inserted }) else { continue }
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        let bound = withLoopbackAddress(port) { bind(fd, $0, $1) }
        close(fd)
        if bound == 0 { return port }
    }
}
