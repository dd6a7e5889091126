/// How log lines are written. All but `text` are one JSON object per line.
public enum LogFormat: String, Sendable, CaseIterable {
    /// Generic JSON: `time`, `level`, `message`, then metadata.
    case json
    /// Google Cloud Logging's structured form: `severity`, `message`, `time`,
    /// `logging.googleapis.com/labels`, `logging.googleapis.com/trace`, `logging.googleapis.com/spanId`.
    case gcp
    /// AWS Lambda's JSON log format: `timestamp`, `level`, `message`, `requestId`.
    case lambda
    /// A readable line for a terminal.
    case text

    /// The format for this environment: `TASKSHIM_LOG_FORMAT` when set, else the platform's own
    /// (Lambda with `AWS_LAMBDA_LOG_FORMAT=JSON`, Cloud Run / Cloud Functions), else text on a terminal
    /// and JSON elsewhere.
    public static func detect(environment: Environment, isTerminal: Bool) throws(TaskShimError) -> LogFormat {
        if let raw = environment["TASKSHIM_LOG_FORMAT"], raw.lowercased() != "auto" {
            guard let format = LogFormat(rawValue: raw.lowercased()) else {
                throw .configuration("TASKSHIM_LOG_FORMAT=\(raw) is not a log format.",
                                     hint: "Use one of auto, json, gcp, lambda, text.")
            }
            return format
        }
        if environment["AWS_LAMBDA_RUNTIME_API"] != nil {
            return environment["AWS_LAMBDA_LOG_FORMAT"]?.uppercased() == "JSON" ? .lambda : .text
        }
        if environment["K_SERVICE"] != nil || environment["CLOUD_RUN_JOB"] != nil || environment["FUNCTION_TARGET"] != nil {
            return .gcp
        }
        return isTerminal ? .text : .json
    }
}
