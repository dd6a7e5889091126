import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A PostgreSQL cluster of a test's own (scripts/postgres on a port nobody else uses, its data in a
/// temporary directory), for tests that crash and restart the server: the shared one of scripts/test
/// serves concurrent tests. Commits are synchronous, as on a production server: the shared server's
/// asynchronous commits can lose the last acknowledged transactions in a crash.
public final class PrivatePostgresServer: @unchecked Sendable {
    public let port: Int
    private let scratch: TemporaryDirectory

    public init(port: Int = closedPort()) async throws {
        self.port = port
        scratch = try TemporaryDirectory()
        try await run("start")
    }

    public var url: String { "postgres://postgres@127.0.0.1:\(port)/taskshim_test" }

    /// An immediate stop (no checkpoint, as a crash) and a start that recovers.
    public func restart(after pause: Duration = .zero) async throws {
        try await run("crash")
        if pause > .zero { try await Task.sleep(for: pause) }
        try await run("start")
    }

    private func run(_ command: String) async throws {
        let (port, scratch) = (port, scratch.path)
        let (status, log) = try await offPool { try Self.script(command, port: port, scratch: scratch) }
        guard status == 0 else {
            throw MissingServer(description: "scripts/postgres \(command) on port \(port) failed: \(log)")
        }
    }

    /// Runs scripts/postgres with posix_spawn and waitpid. Not Foundation's Process: it notices a
    /// child's exit when a descriptor the child inherited closes, and the server that pg_ctl leaves
    /// running inherits it too, so the script would seem to run as long as the server.
    private static func script(_ command: String, port: Int, scratch: String) throws -> (Int32, String) {
        let log = scratch + "/script-\(command).log"
        let path = RepositoryPaths.root.appendingPathComponent("scripts/postgres").path
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, log, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        posix_spawn_file_actions_adddup2(&actions, 1, 2)
        let arguments = [path, command]
        let environment = ["PATH=" + (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"), "TASKSHIM_PG_PORT=\(port)",
                           "TASKSHIM_SCRATCH=" + scratch, "TASKSHIM_PG_DURABLE=1"]
        var argv: [UnsafeMutablePointer<CChar>?] = arguments.map { strdup($0) } + [nil]
        var envp: [UnsafeMutablePointer<CChar>?] = environment.map { strdup($0) } + [nil]
        defer { for pointer in argv + envp { free(pointer) } }
        var pid: pid_t = 0
        let spawned = posix_spawn(&pid, path, &actions, nil, &argv, &envp)
        guard spawned == 0 else { throw MissingServer(description: "cannot run \(path): \(String(cString: strerror(spawned)))") }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        let output = (try? String(contentsOfFile: log, encoding: .utf8)) ?? ""
        return ((status & 0x7f) == 0 ? (status >> 8) & 0xff : 128 + (status & 0x7f), output)
    }

    deinit {
        _ = try? Self.script("stop", port: port, scratch: scratch.path)
    }
}
