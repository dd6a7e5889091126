/// Process exit codes, following BSD `sysexits.h` so that cron, systemd, Cloud Run jobs and ECS
/// can tell a failure worth retrying (75) from one that will fail again (64-78).
public enum ExitStatus: Int32, Sendable, CaseIterable {
    case ok = 0
    /// The command line was wrong: unknown flag, `--start` after `--end`.
    case usage = 64
    /// The input data was wrong: an event that is not JSON, a SQL file with a syntax error.
    case dataError = 65
    /// An input file does not exist or cannot be read.
    case noInput = 66
    /// A handler name that is not registered.
    case noHandler = 67
    /// A dependency answered but refused the request permanently (for example an HTTP 4xx).
    case unavailable = 69
    /// A bug: a handler threw something that is not a `TaskShimError`.
    case software = 70
    /// A local I/O error (cannot write a file, stdout closed).
    case ioError = 74
    /// Temporary failure: a dependency is down or timed out. Retrying later may succeed.
    case temporaryFailure = 75
    /// The remote side broke the protocol (an unexpected answer).
    case protocolError = 76
    /// Credentials were rejected (HTTP 401/403, database authentication).
    case noPermission = 77
    /// Configuration is missing or invalid (an environment variable, a URL).
    case configuration = 78

    /// Whether the platform or scheduler should retry the run.
    public var isRetryable: Bool { self == .temporaryFailure }

    /// A short name for logs and run summaries.
    public var name: String {
        switch self {
        case .ok: "ok"
        case .usage: "usage"
        case .dataError: "data_error"
        case .noInput: "no_input"
        case .noHandler: "no_handler"
        case .unavailable: "unavailable"
        case .software: "software"
        case .ioError: "io_error"
        case .temporaryFailure: "temporary_failure"
        case .protocolError: "protocol_error"
        case .noPermission: "no_permission"
        case .configuration: "configuration"
        }
    }
}
