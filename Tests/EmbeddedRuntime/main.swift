import Foundation
#if canImport(Glibc)
import Glibc
#endif
import TaskShim

/// The number at `key` of a JSON object event, as a whole number.
func wholeNumber(_ key: String, in payload: Data) -> Int? {
    guard case .number(let number)? = JSONValue.parse(payload)?[key] else { return nil }
    return Int(number)
}

/// Ends the process the way a bug in a handler does: a trap, with its message.
struct CrashHandler: Handler {
    let name = "crash"

    func handle(_ invocation: Invocation, context: HandlerContext) async throws -> Data {
        fatalError("the crash handler crashed on \(String(decoding: invocation.payload, as: UTF8.self))")
    }
}

/// Logs `sleeping`, sleeps for the event's `{"ms": N}` (cancellably), then answers `slept`.
struct SleepHandler: Handler {
    let name = "sleep"

    func handle(_ invocation: Invocation, context: HandlerContext) async throws -> Data {
        // A scheduled run has no payload: its task's environment says how long.
        let milliseconds = wholeNumber("ms", in: invocation.payload) ?? context.environment["SLEEP_MS"].flatMap { Int($0) } ?? 0
        // Tests wait for this line before signalling, so the signal lands mid-sleep however slow the machine.
        context.logger.info("sleeping")
        try await Task.sleep(for: .milliseconds(milliseconds))
        return Data("slept".utf8)
    }
}

/// Leaves an orphan behind (a shell that backgrounds a short sleep and exits), waits until it has
/// exited, then answers how many zombies PID 1 has: as PID 1 the runtime must have reaped it.
struct OrphanHandler: Handler {
    let name = "orphan"

    func handle(_ invocation: Invocation, context: HandlerContext) async throws -> Data {
        var pid: pid_t = 0
        let arguments = ["/bin/sh", "-c", "sleep 0.2 &"]
        var argv: [UnsafeMutablePointer<CChar>?] = arguments.map { strdup($0) } + [nil]
        defer { for pointer in argv { free(pointer) } }
        guard posix_spawn(&pid, "/bin/sh", nil, nil, &argv, environ) == 0 else { throw TaskShimError.temporary("spawn failed") }
        var status: Int32 = 0
        waitpid(pid, &status, 0)
        try await Task.sleep(for: .milliseconds(800))
        var zombies = 0
        for entry in (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? [] where Int(entry) != nil {
            guard let stat = try? String(contentsOfFile: "/proc/\(entry)/stat", encoding: .utf8),
                  let close = stat.lastIndex(of: ")") else { continue }
            let fields = stat[stat.index(close, offsetBy: 2)...].split(separator: " ")
            if fields.count > 1, fields[0] == "Z", fields[1] == "1" { zombies += 1 }
        }
        return Data("zombies=\(zombies)".utf8)
    }
}

/// Records the event's `{"count": N}` audit events through the context and answers the time each
/// record took on average (the hot path a handler pays): for bench/audit.py.
struct AuditBurstHandler: Handler {
    let name = "audit-burst"

    func handle(_ invocation: Invocation, context: HandlerContext) async throws -> Data {
        let count = wholeNumber("count", in: invocation.payload) ?? 1000
        let clock = ContinuousClock()
        let start = clock.now
        for n in 0..<count {
            try context.audit.record(AuditEvent(action: "bench.recorded", fields: [
                ("n", .number(Double(n))), ("actor", .string("bench@example.com")), ("resource", .string("report/\(n % 97)")),
            ]))
        }
        let elapsed = clock.now - start
        let microseconds = (Double(elapsed.components.seconds) * 1e6 + Double(elapsed.components.attoseconds) / 1e12) / Double(max(count, 1))
        return Data(#"{"events":\#(count),"record_us_per_event":\#(microseconds)}"#.utf8)
    }
}

/// Appends `<job id> <attempt>` to the file `TASKSHIM_TALLY_FILE` names (one write with O_APPEND, so
/// lines of concurrent workers never mix), after sleeping the event's `{"ms": N}`; an event with
/// `"poison": true` fails with a temporary error every time. For the queue fault test.
struct TallyHandler: Handler {
    let name = "tally"

    func handle(_ invocation: Invocation, context: HandlerContext) async throws -> Data {
        try await Task.sleep(for: .milliseconds(wholeNumber("ms", in: invocation.payload) ?? 0))
        let id = invocation.attributes["job_id"] ?? "?"
        guard let path = ProcessInfo.processInfo.environment["TASKSHIM_TALLY_FILE"] else { throw TaskShimError.configuration("TASKSHIM_TALLY_FILE is not set") }
        let fd = open(path, O_WRONLY | O_APPEND | O_CREAT, 0o644)
        guard fd >= 0 else { throw TaskShimError.temporary("cannot open \(path)") }
        defer { close(fd) }
        let line = Array("\(id) \(invocation.attempt)\n".utf8)
        guard write(fd, line, line.count) == line.count else { throw TaskShimError.temporary("short write to \(path)") }
        if case .bool(true)? = JSONValue.parse(invocation.payload)?["poison"] {
            throw TaskShimError.temporary("poison: this job always fails")
        }
        return Data(#"{"tallied":\#(id)}"#.utf8)
    }
}

var registry = HandlerRegistry.builtIn
registry.register(CrashHandler())
registry.register(SleepHandler())
registry.register(OrphanHandler())
registry.register(AuditBurstHandler())
registry.register(TallyHandler())
await Runtime(registry: registry).main()
