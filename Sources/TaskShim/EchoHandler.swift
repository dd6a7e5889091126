import FoundationEssentials

/// Returns its payload unchanged: the smallest handler, for checking a deployment end to end.
public struct EchoHandler: Handler {
    public let name = "echo"

    public init() {}

    public func handle(_ invocation: Invocation, context: HandlerContext) async throws -> Data {
        invocation.payload
    }
}
