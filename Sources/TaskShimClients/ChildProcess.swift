import FoundationEssentials
import TaskShimCore
#if canImport(Glibc)
import Glibc
#endif

/// Runs a program to completion and collects what it prints (stdout and stderr together): for tools
/// whose answer is their output, such as the dynamic loader's `--list`.
public enum ChildProcess {
    /// The exit status (or 128 + the signal) and the output of `executable` with `arguments`.
    public static func output(_ executable: String, _ arguments: [String]) throws -> (status: Int32, output: String) {
        var pipes: [Int32] = [-1, -1]
        guard pipe(&pipes) == 0 else { throw TaskShimError(.ioError, "Cannot create a pipe to run \(executable): \(String(cString: strerror(errno))).") }
        // Only the dup2 copies reach the child, so it cannot hold the pipe open after it exits.
        for end in pipes { _ = fcntl(end, F_SETFD, FD_CLOEXEC) }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_adddup2(&actions, pipes[1], 1)
        posix_spawn_file_actions_adddup2(&actions, pipes[1], 2)
        let argv = ([executable] + arguments).map { strdup($0) } + [nil]
        defer { for pointer in argv { free(pointer) } }
        var pid: pid_t = 0
        let spawned = posix_spawn(&pid, executable, &actions, nil, argv, environ)
        close(pipes[1])
        defer { close(pipes[0]) }
        guard spawned == 0 else {
            throw TaskShimError(.unavailable, "Cannot run \(executable): \(String(cString: strerror(spawned))).")
        }
        var collected = [UInt8]()
        var buffer = [UInt8](repeating: 0, count: 65536)
        while true {
            let count = read(pipes[0], &buffer, buffer.count)
            if count > 0 { collected += buffer.prefix(count); continue }
            if count < 0 && errno == EINTR { continue }
            break
        }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        let code = (status & 0x7F) == 0 ? (status >> 8) & 0xFF : 128 + (status & 0x7F)
        return (code, String(decoding: collected, as: UTF8.self))
    }
}
