import Foundation

/// A unit of work that TaskShim can run under every contract.
///
/// A handler never sees the platform: the contracts translate their input into an ``Invocation`` and
/// turn the returned bytes (or the thrown ``TaskShimError``) back into their own answer.
public protocol Handler: Sendable {
    /// The name used by `runtime exec NAME`, `_HANDLER`, `FUNCTION_TARGET` and queue job types.
    var name: String { get }

    /// Runs once. Returns the response body (JSON by convention; may be empty).
    func handle(_ invocation: Invocation, context: HandlerContext) async throws -> Data

    /// Checks that every dependency the handler needs is reachable and accepts its credentials,
    /// without doing any work (`runtime exec NAME --test-connection`). Returns one line per check.
    func testConnections(context: HandlerContext) async throws -> [ConnectionCheck]
}

extension Handler {
    public func testConnections(context: HandlerContext) async throws -> [ConnectionCheck] { [] }
}

/// The result of one dependency check.
public struct ConnectionCheck: Sendable, Equatable {
    public var dependency: String
    public var ok: Bool
    public var detail: String

    public init(dependency: String, ok: Bool, detail: String) {
        self.dependency = dependency
        self.ok = ok
        self.detail = detail
    }
}
