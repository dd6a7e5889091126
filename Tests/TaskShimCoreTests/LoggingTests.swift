import Foundation
import Logging
import Testing
@testable import TaskShimCore

struct LoggingTests {
    func logger(_ format: LogFormat, redactor: Redactor = Redactor(), level: Logger.Level = .info,
                environment: StructuredLogHandler.LogEnvironment = .init()) -> (Logger, MemoryLineWriter) {
        let writer = MemoryLineWriter()
        let setup = LogSetup(format: format, level: level, writer: writer, redactor: redactor, environment: environment)
        return (setup.makeLogger(label: "test"), writer)
    }

    func parse(_ line: String) throws -> [String: Any] {
        try #require(JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
    }

    @Test func jsonFormatWritesOneParsableObjectPerLine() throws {
        let (log, writer) = logger(.json)
        log.info("hello \"world\"\nsecond line", metadata: ["rows": .stringConvertible(42), "ok": .stringConvertible(true),
                                                           "name": "x", "list": ["a", "b"], "map": ["k": "v"]])
        #expect(writer.lines.count == 1)
        let object = try parse(writer.lines[0])
        #expect(object["level"] as? String == "info")
        #expect(object["message"] as? String == "hello \"world\"\nsecond line")
        #expect(object["rows"] as? Int == 42)
        #expect(object["ok"] as? Bool == true)
        #expect(object["list"] as? [String] == ["a", "b"])
        #expect((object["map"] as? [String: String]) == ["k": "v"])
        #expect(Timestamp.parse(object["time"] as? String ?? "") != nil)
        #expect(writer.lines[0].hasPrefix("{\"time\":"))
    }

    @Test func gcpFormatUsesCloudLoggingFieldNames() throws {
        let (log, writer) = logger(.gcp, environment: .init(gcpProject: "proj"))
        var logger = log
        logger[metadataKey: "handler"] = "report"
        logger[metadataKey: "trace_id"] = "abc123"
        logger[metadataKey: "span_id"] = "42"
        logger.warning("careful")
        let object = try parse(writer.lines[0])
        #expect(object["severity"] as? String == "WARNING")
        #expect(object["message"] as? String == "careful")
        #expect(object["logging.googleapis.com/trace"] as? String == "projects/proj/traces/abc123")
        #expect(object["logging.googleapis.com/spanId"] as? String == "42")
        #expect((object["logging.googleapis.com/labels"] as? [String: String])?["handler"] == "report")
        #expect(object["level"] == nil)
    }

    @Test func lambdaFormatUsesLambdaFieldNames() throws {
        let (log, writer) = logger(.lambda)
        var logger = log
        logger[metadataKey: "request_id"] = "8f5c-1"
        logger.error("failed")
        logger.critical("worse")
        let object = try parse(writer.lines[0])
        #expect(object["level"] as? String == "ERROR")
        #expect(object["requestId"] as? String == "8f5c-1")
        #expect(object["timestamp"] != nil)
        #expect(try parse(writer.lines[1])["level"] as? String == "FATAL")
    }

    @Test func textFormatIsOneReadableLine() {
        let (log, writer) = logger(.text)
        log.info("started", metadata: ["handler": "demo"])
        #expect(writer.lines[0].contains(" INFO  started handler=demo"))
        #expect(!writer.lines[0].contains("{"))
    }

    @Test func levelFiltersLines() {
        let (log, writer) = logger(.json, level: .warning)
        log.info("hidden")
        log.warning("shown")
        #expect(writer.lines.count == 1)
    }

    @Test func parsesLevelNamesFromPythonAndLambda() throws {
        #expect(try Logger.Level(parsing: "WARNING") == .warning)
        #expect(try Logger.Level(parsing: "warn") == .warning)
        #expect(try Logger.Level(parsing: "FATAL") == .critical)
        #expect(try Logger.Level.from(environment: Environment(["AWS_LAMBDA_LOG_LEVEL": "DEBUG"])) == .debug)
        #expect(try Logger.Level.from(environment: Environment(["LOG_LEVEL": "error", "AWS_LAMBDA_LOG_LEVEL": "DEBUG"])) == .error)
        #expect(throws: TaskShimError.self) { try Logger.Level.from(environment: Environment(["LOG_LEVEL": "loud"])) }
    }

    @Test func formatDetectionFollowsThePlatform() throws {
        #expect(try LogFormat.detect(environment: Environment([:]), isTerminal: true) == .text)
        #expect(try LogFormat.detect(environment: Environment([:]), isTerminal: false) == .json)
        #expect(try LogFormat.detect(environment: Environment(["K_SERVICE": "svc"]), isTerminal: true) == .gcp)
        #expect(try LogFormat.detect(environment: Environment(["CLOUD_RUN_JOB": "job"]), isTerminal: false) == .gcp)
        #expect(try LogFormat.detect(environment: Environment(["AWS_LAMBDA_RUNTIME_API": "x", "AWS_LAMBDA_LOG_FORMAT": "JSON"]), isTerminal: false) == .lambda)
        #expect(try LogFormat.detect(environment: Environment(["AWS_LAMBDA_RUNTIME_API": "x"]), isTerminal: false) == .text)
        #expect(try LogFormat.detect(environment: Environment(["TASKSHIM_LOG_FORMAT": "gcp"]), isTerminal: true) == .gcp)
        #expect(throws: TaskShimError.self) { try LogFormat.detect(environment: Environment(["TASKSHIM_LOG_FORMAT": "xml"]), isTerminal: true) }
    }
}

struct RedactorTests {
    @Test func secretsFromTheEnvironmentNeverReachALine() throws {
        let redactor = Redactor()
        redactor.addSecrets(from: Environment([
            "TELEMETRY_API_KEY": "canary-key-123",
            "DATABASE_URL": "postgres://app:s3cr%21t-pw@db.internal:5432/prod",
            "SPLUNK_HEC_TOKEN": "hec-token-456",
            "STREAM_NAME": "visible",
        ]))
        for format in LogFormat.allCases {
            let writer = MemoryLineWriter()
            let log = LogSetup(format: format, level: .info, writer: writer, redactor: redactor).makeLogger(label: "t")
            log.info("key canary-key-123 and url postgres://app:s3cr%21t-pw@db.internal and s3cr!t-pw",
                     metadata: ["detail": "hec-token-456", "password": "short", "nested": ["x": "canary-key-123"],
                                "stream": "visible"])
            let line = writer.lines.joined()
            #expect(!line.contains("canary-key-123"))
            #expect(!line.contains("s3cr%21t-pw"))
            #expect(!line.contains("s3cr!t-pw"))
            #expect(!line.contains("hec-token-456"))
            #expect(!line.contains("short"))
            #expect(line.contains("visible"))
            #expect(line.contains("db.internal"))
        }
    }

    @Test func secretNamesAreRecognised() {
        for name in ["TELEMETRY_API_KEY", "SPLUNK_HEC_TOKEN", "PGPASSWORD", "aws_secret_access_key", "Authorization",
                     "key", "x_Key", "my.password.file", "IDENTITY_HEADER", "DB_PASSWORD_FILE_CONTENTS"] {
            #expect(Redactor.isSecretName(name))
        }
        for name in ["STREAM_NAME", "DATABASE_URL", "LOG_LEVEL", "KEYBOARD", "SECRETS_PROVIDER", "", "K", "_KE",
                     "TELEMETRY_SECRETS_ID", "DATABASE_SECRET_ID", "DB_PASSWORD_FILE", "AWS_WEB_IDENTITY_TOKEN_FILE", "GOOGLE_APPLICATION_CREDENTIALS"] {
            #expect(!Redactor.isSecretName(name))
        }
    }

    @Test func shortValuesAreNotMaskedEverywhere() {
        let redactor = Redactor()
        redactor.add("1")
        #expect(redactor.redact("row 1 of 10") == "row 1 of 10")
    }
}
