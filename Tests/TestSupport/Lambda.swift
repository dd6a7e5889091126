import Foundation

/// cargo-lambda's Runtime API emulator (`cargo lambda watch --only-lambda-apis`), a real peer from
/// PyPI. It runs `cargo metadata` first, so it starts inside an empty Cargo project of its own.
public final class LambdaEmulator: @unchecked Sendable {
    public let port: Int
    private let process: Process
    private let project: TemporaryDirectory

    public init() throws {
        project = try TemporaryDirectory()
        try FileManager.default.createDirectory(atPath: project.file("src"), withIntermediateDirectories: true)
        try project.write("Cargo.toml", "[package]\nname = \"emulator\"\nversion = \"0.1.0\"\nedition = \"2021\"\n")
        try project.write("src/main.rs", "fn main() {}\n")
        port = closedPort()
        process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["cargo", "lambda", "watch", "--only-lambda-apis", "-P", String(port)]
        process.currentDirectoryURL = URL(fileURLWithPath: project.path)
        process.standardOutput = FileHandle(forWritingAtPath: "/dev/null")
        process.standardError = FileHandle(forWritingAtPath: "/dev/null")
        try process.run()
        let deadline = Date().addingTimeInterval(60)
        while !Self.accepts(port) {
            guard process.isRunning, Date() < deadline else {
                kill(process.processIdentifier, SIGKILL)
                throw MissingServer(description: "cargo lambda watch did not start on port \(port): install it with `pip install cargo-lambda` (scripts/install-deps --python).")
            }
            usleep(100_000)
        }
    }

    /// Starts the emulator off the cooperative pool: it takes seconds to listen.
    public static func start() async throws -> LambdaEmulator {
        try await offPool { try LambdaEmulator() }
    }

    /// The value for `AWS_LAMBDA_RUNTIME_API`.
    public var runtimeAPI: String { "127.0.0.1:\(port)/.rt" }
    /// Where `POST` invokes the function (the Lambda Invoke API).
    public var invokeURL: String { "http://127.0.0.1:\(port)/2015-03-31/functions/_/invocations" }

    public static func accepts(_ port: Int) -> Bool {
        guard let fd = connectLoopback(port) else { return false }
        close(fd)
        return true
    }

    deinit { reapInBackground(process) }
}

/// A `runtime lambda` process in the background, its output collected in a file.
public final class BackgroundRuntime: @unchecked Sendable {
    private let process: Process
    private let logs: TemporaryDirectory

    /// `executable` is the `runtime` binary unless a test needs the embedding fixture
    /// (``RepositoryPaths/embeddedRuntimeBinary``).
    public init(environment: [String: String], arguments: [String] = [], executable: String = RepositoryPaths.runtimeBinary) throws {
        logs = try TemporaryDirectory()
        _ = FileManager.default.createFile(atPath: logs.file("out"), contents: nil)
        _ = FileManager.default.createFile(atPath: logs.file("err"), contents: nil)
        process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        var env = ["PATH": ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin", "HOME": NSTemporaryDirectory()]
        env.merge(environment) { _, new in new }
        process.environment = env
        process.currentDirectoryURL = URL(fileURLWithPath: logs.path)
        process.standardOutput = FileHandle(forWritingAtPath: logs.file("out"))
        process.standardError = FileHandle(forWritingAtPath: logs.file("err"))
        try process.run()
    }

    public var stdout: String { (try? String(contentsOfFile: logs.file("out"), encoding: .utf8)) ?? "" }
    public var stderr: String { (try? String(contentsOfFile: logs.file("err"), encoding: .utf8)) ?? "" }

    /// The JSON log lines written so far.
    public var logLines: [[String: Any]] {
        stdout.split(separator: "\n").compactMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
    }

    /// Waits until a JSON log line with this message has been written; false if none came within the limit.
    public func waitForLog(_ message: String, timeout: Duration = .seconds(20)) async throws -> Bool {
        let end = ContinuousClock.now + timeout
        while ContinuousClock.now < end {
            if logLines.contains(where: { $0["message"] as? String == message }) { return true }
            try await Task.sleep(for: .milliseconds(10))
        }
        return false
    }

    /// Waits for the process to exit by itself and returns its status (nil if still running at the limit).
    public func waitForExit(timeout: TimeInterval) async -> Int32? {
        let process = process
        return try? await offPool {
            TestSupport.waitForExit(process, timeout: timeout)
            return process.isRunning ? nil : process.terminationStatus
        }
    }

    /// Whether the process ended by a signal rather than by exiting (its status is then the signal).
    public var wasKilledBySignal: Bool { !process.isRunning && process.terminationReason == .uncaughtSignal }

    public func signal(_ number: Int32) { kill(process.processIdentifier, number) }

    public var pid: Int32 { process.processIdentifier }

    /// The process state letter from /proc (R, S, T for stopped, Z...), nil once it is gone.
    public var state: Character? {
        guard let stat = try? String(contentsOfFile: "/proc/\(process.processIdentifier)/stat", encoding: .utf8),
              let close = stat.lastIndex(of: ")") else { return nil }
        return stat[stat.index(close, offsetBy: 2)]
    }

    deinit {
        Canary.check(stdout + stderr, from: "runtime \(process.arguments ?? [])")
        reapInBackground(process)
    }
}

/// Tests/Support/fake_runtime_api.py: a Runtime API that injects the faults a real emulator cannot
/// (500 on a response post, a reset during next, an epoch deadline in the near future).
public final class FakeRuntimeAPI: @unchecked Sendable {
    public struct Post: Sendable {
        public var path: String
        public var headers: [String: String]
        public var body: String
        public var size: Int
        /// Sizes of the chunks of a streamed (chunked) body.
        public var chunks: [Int]
        public var trailers: [String: String]
        public var json: [String: Any]? { try? JSONSerialization.jsonObject(with: Data(body.utf8)) as? [String: Any] }
    }

    private let server: PortServer
    private let log: TemporaryDirectory

    /// Each event: `body` (string), optional `deadline_ms` (from now), `on_response` (status), `reset_next`,
    /// `headers` (more headers on the `next` answer), `delay_ms` (how long `next` blocks first).
    public init(events: [[String: Any]]) throws {
        log = try TemporaryDirectory()
        try JSONSerialization.data(withJSONObject: events).write(to: URL(fileURLWithPath: log.file("events.json")))
        server = try PortServer(["python3", RepositoryPaths.path("Tests/Support/fake_runtime_api.py"), log.file("posts.jsonl"), log.file("events.json")])
    }

    /// Starts the API off the cooperative pool (the Python interpreter takes a while to listen).
    public static func start(events: [[String: Any]]) async throws -> FakeRuntimeAPI {
        let document = try JSONSerialization.data(withJSONObject: events)
        return try await offPool { try FakeRuntimeAPI(events: (try JSONSerialization.jsonObject(with: document) as? [[String: Any]]) ?? []) }
    }

    public var runtimeAPI: String { "127.0.0.1:\(server.port)" }

    public var posts: [Post] {
        guard let text = try? String(contentsOfFile: log.file("posts.jsonl"), encoding: .utf8) else { return [] }
        return text.split(separator: "\n").compactMap { line in
            guard let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any] else { return nil }
            return Post(path: object["path"] as? String ?? "", headers: object["headers"] as? [String: String] ?? [:],
                        body: object["body"] as? String ?? "", size: object["size"] as? Int ?? 0,
                        chunks: object["chunks"] as? [Int] ?? [], trailers: object["trailers"] as? [String: String] ?? [:])
        }
    }

    /// Waits until `count` posts have arrived (or the time is up) and returns them.
    public func waitForPosts(_ count: Int, timeout: TimeInterval = 20) async -> [Post] {
        let end = Date().addingTimeInterval(timeout)
        while posts.count < count && Date() < end { try? await Task.sleep(for: .milliseconds(20)) }
        return posts
    }
}
