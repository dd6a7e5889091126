import FoundationEssentials
#if canImport(Glibc)
import Glibc
#endif
import Logging

/// The swift-log backend: one line per event in the chosen ``LogFormat``, every string passed through
/// the ``Redactor`` before it is written.
public struct StructuredLogHandler: LogHandler {
    public var metadata: Logger.Metadata = [:]
    public var logLevel: Logger.Level
    public var metadataProvider: Logger.MetadataProvider?

    private let label: String
    private let format: LogFormat
    private let writer: any LineWriter
    private let redactor: Redactor
    private let environment: LogEnvironment

    /// What the formats take from the environment once, not on every line.
    public struct LogEnvironment: Sendable {
        public var gcpProject: String?

        public init(gcpProject: String? = nil) {
            self.gcpProject = gcpProject
        }

        public init(_ environment: Environment) {
            self.gcpProject = environment["GOOGLE_CLOUD_PROJECT"] ?? environment["GCP_PROJECT"]
        }
    }

    public init(label: String, level: Logger.Level, format: LogFormat, writer: any LineWriter,
                redactor: Redactor, environment: LogEnvironment = LogEnvironment()) {
        self.label = label
        self.logLevel = level
        self.format = format
        self.writer = writer
        self.redactor = redactor
        self.environment = environment
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        var merged = metadata
        if let provided = metadataProvider?.get() { merged.merge(provided) { _, new in new } }
        if let extra = event.metadata { merged.merge(extra) { _, new in new } }
        let message = redactor.redact(event.message.description)
        writer.write(line: render(level: event.level, message: message, metadata: merged, date: Date()))
    }

    func render(level: Logger.Level, message: String, metadata: Logger.Metadata, date: Date) -> String {
        let keys = metadata.keys.sorted()
        switch format {
        case .text:
            var line = Timestamp.format(date) + " " + level.lambdaLevel + String(repeating: " ", count: max(0, 5 - level.lambdaLevel.count)) + " " + message
            for key in keys {
                line += " \(key)=\(plain(key: key, metadata[key]!))"
            }
            return line
        case .json:
            var json = JSONLine()
            json.add("time", Timestamp.format(date))
            json.add("level", level.rawValue)
            json.add("message", message)
            json.add("logger", label)
            for key in keys { json.add(key, rawJSON: encode(key: key, metadata[key]!)) }
            return json.string
        case .lambda:
            var json = JSONLine()
            json.add("timestamp", Timestamp.format(date))
            json.add("level", level.lambdaLevel)
            json.add("message", message)
            json.add("logger", label)
            for key in keys {
                if key == "request_id", case .string(let id) = metadata[key]! {
                    json.add("requestId", id)
                } else {
                    json.add(key, rawJSON: encode(key: key, metadata[key]!))
                }
            }
            return json.string
        case .gcp:
            var json = JSONLine()
            json.add("severity", level.gcpSeverity)
            json.add("message", message)
            json.add("time", Timestamp.format(date))
            var labels = JSONLine()
            var hasLabels = false
            for key in keys {
                let value = metadata[key]!
                switch key {
                case "trace_id":
                    if let project = environment.gcpProject {
                        json.add("logging.googleapis.com/trace", "projects/\(project)/traces/\(plain(key: key, value))")
                    } else {
                        json.add(key, rawJSON: encode(key: key, value))
                    }
                case "span_id":
                    json.add("logging.googleapis.com/spanId", plain(key: key, value))
                case "handler", "request_id", "trigger":
                    labels.add(key, plain(key: key, value))
                    // Cloud Functions' name for it, which log queries and dashboards filter on.
                    if key == "request_id" { labels.add("execution_id", plain(key: key, value)) }
                    hasLabels = true
                default:
                    json.add(key, rawJSON: encode(key: key, value))
                }
            }
            json.add("logging.googleapis.com/sourceLocation", rawJSON: "{\"function\":\(JSONLine.quoted(label))}")
            if hasLabels { json.add("logging.googleapis.com/labels", rawJSON: labels.string) }
            return json.string
        }
    }

    /// A metadata value as JSON: numbers and booleans given as `stringConvertible` stay numbers, fields
    /// whose names say they hold a secret are masked, every string is redacted.
    private func encode(key: String, _ value: Logger.Metadata.Value) -> String {
        if Redactor.isSecretName(key) { return JSONLine.quoted(Redactor.mask) }
        switch value {
        case .string(let text):
            return JSONLine.quoted(redactor.redact(text))
        case .stringConvertible(let convertible):
            switch convertible {
            case let number as Int: return String(number)
            case let number as Int64: return String(number)
            case let number as Double: return JSONLine.number(number)
            case let flag as Bool: return flag ? "true" : "false"
            default: return JSONLine.quoted(redactor.redact(convertible.description))
            }
        case .array(let values):
            return "[" + values.map { encode(key: "", $0) }.joined(separator: ",") + "]"
        case .dictionary(let dictionary):
            var object = JSONLine()
            for inner in dictionary.keys.sorted() { object.add(inner, rawJSON: encode(key: inner, dictionary[inner]!)) }
            return object.string
        }
    }

    private func plain(key: String, _ value: Logger.Metadata.Value) -> String {
        if Redactor.isSecretName(key) { return Redactor.mask }
        switch value {
        case .string(let text): return redactor.redact(text)
        case .stringConvertible(let convertible): return redactor.redact(convertible.description)
        default: return encode(key: key, value)
        }
    }
}
