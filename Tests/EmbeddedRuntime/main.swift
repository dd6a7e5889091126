import FoundationEssentials
import TaskShim

/// Ends the process the way a bug in a handler does: a trap, with its message.
struct CrashHandler: Handler {
    let name = "crash"

    func handle(_ invocation: Invocation, context: HandlerContext) async throws -> Data {
        fatalError("the crash handler crashed on \(String(decoding: invocation.payload, as: UTF8.self))")
    }
}

var registry = HandlerRegistry.builtIn
registry.register(CrashHandler())
await Runtime(registry: registry).main()
