import FoundationEssentials
import TaskShim

/// Ends the process the way a bug in a handler does: a trap, with its message.
struct CrashHandler: Handler {
    let name = "crash"

    func handle(_ invocation: Invocation, context: HandlerContext) async throws -> Data {
        fatalError("the crash handler crashed on \(String(decoding: invocation.payload, as: UTF8.self))")
    }
}

/// Sleeps for the event's `{"ms": N}` (cancellably), then answers `slept`.
struct SleepHandler: Handler {
    let name = "sleep"

    func handle(_ invocation: Invocation, context: HandlerContext) async throws -> Data {
        let milliseconds = JSONValue.parse(invocation.payload)?["ms"].flatMap { value -> Int? in
            if case .number(let number) = value { return Int(number) }
            return nil
        } ?? 0
        try await Task.sleep(for: .milliseconds(milliseconds))
        return Data("slept".utf8)
    }
}

var registry = HandlerRegistry.builtIn
registry.register(CrashHandler())
registry.register(SleepHandler())
await Runtime(registry: registry).main()
