import FoundationEssentials

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
    public var detail: String
    /// How the check failed (`temporaryFailure` when unreachable, `noPermission` when credentials were
    /// refused, ...); nil when it passed.
    public var failure: ExitStatus?

    public var ok: Bool { failure == nil }

    public init(dependency: String, detail: String, failure: ExitStatus? = nil) {
        self.dependency = dependency
        self.detail = detail
        self.failure = failure
    }

    /// A failed check carrying the error's message and exit status.
    public init(dependency: String, error: any Error) {
        let wrapped = TaskShimError.wrapping(error)
        self.init(dependency: dependency, detail: wrapped.description, failure: wrapped.status)
    }
}
