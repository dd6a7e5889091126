import Foundation
import TestSupport

/// A project for `runtime package` tests: a manifest whose one task runs `q/one.sql`.
struct PackageProject {
    let directory: TemporaryDirectory

    init(sql: String, taskSettings: String = "") throws {
        directory = try TemporaryDirectory()
        _ = try directory.write("taskshim.toml", "[tasks.one]\nhandler = \"q/one.sql\"\nschedule = \"0 9 * * *\"\n\(taskSettings)")
        _ = try directory.write("q/one.sql", sql)
    }

    func file(_ name: String) -> String { directory.file(name) }

    /// `runtime package KIND ARGUMENTS...` run in the project.
    func package(_ kind: String, _ arguments: [String] = []) async throws -> ProcessResult {
        try await runProcessAsync(RepositoryPaths.runtimeBinary, ["package", kind] + arguments, directory: directory.path)
    }
}

/// A process run in a root directory the way a platform runs a bundle or an image: `chroot` (as
/// `user` when given), in a mount namespace of its own with only /proc mounted. Started at once;
/// its output goes to `log`, read with ``output``.
final class ProcessInRoot {
    let process = Process()
    private let logs: TemporaryDirectory
    private let log: String

    init(_ root: String, _ command: [String], user: String? = nil, environment: [String: String] = [:]) throws {
        try FileManager.default.createDirectory(atPath: root + "/proc", withIntermediateDirectories: true)
        logs = try TemporaryDirectory()
        log = try logs.write("output", "")
        let chroot = "/usr/sbin/chroot" + (user.map { " --userspec=\($0)" } ?? "")
        process.executableURL = URL(fileURLWithPath: "/usr/bin/unshare")
        // unshare, sh and chroot each exec the next: the process started is the command itself.
        process.arguments = ["--mount", "--", "/bin/sh", "-c", #"mount -t proc proc "$0/proc" && exec "# + chroot + #" "$0" "$@""#, root] + command
        process.environment = environment.merging(["PATH": "/usr/bin:/bin:/usr/sbin:/sbin"]) { a, _ in a }
        process.standardOutput = try FileHandle(forWritingTo: URL(fileURLWithPath: log))
        process.standardError = process.standardOutput
        try process.run()
    }

    var output: String { (try? String(contentsOfFile: log, encoding: .utf8)) ?? "" }

    /// Waits for it to exit (up to 30 s) and returns its status.
    func wait() async throws -> Int32 {
        let process = self.process
        try await offPool { waitForExit(process, timeout: 30) }
        return process.isRunning ? -1 : process.terminationStatus
    }

    deinit {
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        waitForExit(process)
    }
}
