/// The one error type every TaskShim module throws to its caller: what went wrong, how to fix it,
/// and which exit code it maps to.
///
/// `description` is the one paragraph a user sees: no stack dump, no C error number without its meaning.
public struct TaskShimError: Error, Sendable, CustomStringConvertible, Equatable {
    /// The exit status the run ends with when this error reaches the top.
    public var status: ExitStatus
    /// What went wrong, naming the file, line, field or host where it happened.
    public var message: String
    /// What the user can do about it; empty when there is nothing to add.
    public var hint: String
    /// How long the dependency asked to be left alone (an HTTP `Retry-After`), when it said.
    public var retryAfter: Duration?

    public init(_ status: ExitStatus, _ message: String, hint: String = "") {
        self.status = status
        self.message = message
        self.hint = hint
    }

    public var description: String {
        hint.isEmpty ? message : "\(message) \(hint)"
    }

    /// Whether retrying the same operation later may succeed.
    public var isRetryable: Bool { status.isRetryable }
}

extension TaskShimError {
    public static func usage(_ message: String, hint: String = "") -> TaskShimError {
        TaskShimError(.usage, message, hint: hint)
    }
    public static func configuration(_ message: String, hint: String = "") -> TaskShimError {
        TaskShimError(.configuration, message, hint: hint)
    }
    public static func temporary(_ message: String, hint: String = "") -> TaskShimError {
        TaskShimError(.temporaryFailure, message, hint: hint)
    }
    public static func data(_ message: String, hint: String = "") -> TaskShimError {
        TaskShimError(.dataError, message, hint: hint)
    }
    public static func noInput(_ message: String, hint: String = "") -> TaskShimError {
        TaskShimError(.noInput, message, hint: hint)
    }

    /// Wraps any error: a `TaskShimError` passes through, anything else is a software error.
    public static func wrapping(_ error: any Error) -> TaskShimError {
        if let error = error as? TaskShimError { return error }
        if error is CancellationError {
            return TaskShimError(.temporaryFailure, "The run was cancelled before it finished.")
        }
        return TaskShimError(.software, "Unexpected error: \(String(describing: error)).",
                             hint: "This is a bug in the handler or in TaskShim; please report it with the log.")
    }
}
