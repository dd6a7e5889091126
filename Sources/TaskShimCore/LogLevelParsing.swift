import Logging

extension Logger.Level {
    /// Parses the level names swift-log, Python's logging and Lambda use, case-insensitively:
    /// trace, debug, info, notice, warn/warning, error, critical/fatal.
    public init(parsing raw: String) throws(TaskShimError) {
        switch raw.lowercased() {
        case "trace": self = .trace
        case "debug": self = .debug
        case "info": self = .info
        case "notice": self = .notice
        case "warn", "warning": self = .warning
        case "error": self = .error
        case "critical", "fatal": self = .critical
        default:
            throw .configuration("'\(raw)' is not a log level.",
                                 hint: "Use one of trace, debug, info, notice, warning, error, critical.")
        }
    }

    /// The level to log at: `LOG_LEVEL`, else Lambda's `AWS_LAMBDA_LOG_LEVEL`, else info.
    public static func from(environment: Environment) throws(TaskShimError) -> Logger.Level {
        for name in ["LOG_LEVEL", "AWS_LAMBDA_LOG_LEVEL"] {
            guard let raw = environment[name] else { continue }
            do { return try Logger.Level(parsing: raw) } catch {
                throw .configuration("\(name)=\(raw) is not a log level.", hint: error.hint)
            }
        }
        return .info
    }

    /// Cloud Logging's severity names.
    var gcpSeverity: String {
        switch self {
        case .trace, .debug: "DEBUG"
        case .info: "INFO"
        case .notice: "NOTICE"
        case .warning: "WARNING"
        case .error: "ERROR"
        case .critical: "CRITICAL"
        }
    }

    /// Lambda's level names (TRACE, DEBUG, INFO, WARN, ERROR, FATAL).
    var lambdaLevel: String {
        switch self {
        case .trace: "TRACE"
        case .debug: "DEBUG"
        case .info, .notice: "INFO"
        case .warning: "WARN"
        case .error: "ERROR"
        case .critical: "FATAL"
        }
    }
}
