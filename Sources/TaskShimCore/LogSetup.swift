import Logging

/// The logging configuration of one process: format, level, destination and redactor, resolved once
/// at start-up and installed into swift-log.
public struct LogSetup: Sendable {
    public var format: LogFormat
    public var level: Logger.Level
    public var writer: any LineWriter
    public var redactor: Redactor
    public var environment: StructuredLogHandler.LogEnvironment

    public init(format: LogFormat, level: Logger.Level, writer: any LineWriter, redactor: Redactor,
                environment: StructuredLogHandler.LogEnvironment = .init()) {
        self.format = format
        self.level = level
        self.writer = writer
        self.redactor = redactor
        self.environment = environment
    }

    /// Resolves format and level from the environment (see ``LogFormat/detect(environment:isTerminal:)`` and
    /// ``Logging/Logger/Level/from(environment:)``); `levelOverride` (a `--log-level` flag) wins. The
    /// redactor starts with the environment's secret-looking values.
    public static func resolve(environment: Environment, writer: any LineWriter, isTerminal: Bool,
                               levelOverride: String? = nil) throws(TaskShimError) -> LogSetup {
        let redactor = Redactor()
        redactor.addSecrets(from: environment)
        let level: Logger.Level
        if let levelOverride {
            level = try Logger.Level(parsing: levelOverride)
        } else {
            level = try Logger.Level.from(environment: environment)
        }
        return LogSetup(format: try LogFormat.detect(environment: environment, isTerminal: isTerminal),
                        level: level, writer: writer, redactor: redactor, environment: .init(environment))
    }

    /// A logger writing with this setup, without touching swift-log's global bootstrap (for tests
    /// and embedders that run several setups).
    public func makeLogger(label: String) -> Logger {
        Logger(label: label) { label in
            StructuredLogHandler(label: label, level: level, format: format, writer: writer,
                                 redactor: redactor, environment: environment)
        }
    }

    /// Installs this setup as swift-log's backend for the whole process. Call once.
    public func bootstrap() {
        LoggingSystem.bootstrap { [self] label in
            StructuredLogHandler(label: label, level: level, format: format, writer: writer,
                                 redactor: redactor, environment: environment)
        }
    }
}
