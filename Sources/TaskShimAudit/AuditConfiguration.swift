import FoundationEssentials
import TaskShimCore

/// When audit files are forced to disk.
public enum AuditFsync: String, Sendable {
    /// After every event: nothing recorded is lost to a power cut, at the cost of a disk flush per event.
    case always
    /// Once a second in the background and at every flush point (before Lambda's next event, at exit):
    /// a crash of the process loses nothing, a power cut at most a second.
    case everySecond = "everysec"
    /// Left to the kernel, except at flush points.
    case never = "no"
}

/// The audit trail's settings, from the environment. The seeds' names are kept (`AUDIT_SINKS`,
/// `AUDIT_LOG_STDOUT`, `AUDIT_LOG_TO_FILE`, `SPLUNK_HEC_URL`, `SPLUNK_HEC_TOKEN`, `AUDIT_WEBHOOK_URL`);
/// the rest start with `TASKSHIM_AUDIT_`, `SPLUNK_HEC_` or `AUDIT_WEBHOOK_`. docs/operations/audit.md
/// lists them.
public struct AuditConfiguration: Sendable {
    public enum Sink: String, Sendable, CaseIterable {
        case stdout, file, splunk, webhook
    }

    public struct Splunk: Sendable {
        public var url: String
        public var token: String
        public var index: String?
        public var source = "taskshim"
        public var sourcetype = "_json"
        public var host: String
        /// With indexer acknowledgement on, each request names a channel and is only counted delivered
        /// once `/services/collector/ack` says it was indexed.
        public var acknowledgements = false
    }

    public struct Webhook: Sendable {
        public var url: String
        /// The signing key (the bytes after `whsec_`, base64-decoded); nil sends unsigned messages.
        public var secret: Data?
    }

    public var sinks: [Sink] = []
    public var filePath: String?
    public var fileMaxBytes = 100 << 20
    public var fileKeep = 5
    public var splunk: Splunk?
    public var webhook: Webhook?
    public var spoolDirectory: String
    public var spoolMaxBytes = 256 << 20
    var overflow: AuditSpool.Overflow = .dropOldest
    public var fsync: AuditFsync = .everySecond
    /// Events per Splunk request.
    public var batchSize = 100
    /// The longest wait between two delivery attempts to a failing sink.
    public var maxBackoff: Duration = .seconds(30)
    /// How long a flush (before Lambda's next event, at exit) waits for the network sinks.
    public var flushTimeout: Duration = .seconds(2)

    public var isEnabled: Bool { !sinks.isEmpty }

    /// The settings from the environment. Without `AUDIT_SINKS`, each seed variable that is set turns
    /// its sink on; with it, exactly the listed sinks run and each must have its variables.
    public init(environment: Environment) throws(TaskShimError) {
        let temporary = environment["TMPDIR"].flatMap { $0.isEmpty ? nil : $0 } ?? "/tmp"
        spoolDirectory = environment["TASKSHIM_AUDIT_SPOOL_DIR"].flatMap { $0.isEmpty ? nil : $0 } ?? temporary + "/taskshim-audit"
        let stdoutFlag = try environment.bool("AUDIT_LOG_STDOUT", default: false)
        let file = environment["AUDIT_LOG_TO_FILE"].flatMap { $0.isEmpty ? nil : $0 }
        // AUDIT_LOG_TO_FILE is a path; `true` means audit.jsonl in the working folder, `false` off.
        switch file?.lowercased() {
        case nil, "false", "0", "no", "off": filePath = nil
        case "true", "1", "yes", "on": filePath = "audit.jsonl"
        default: filePath = file
        }
        if let raw = environment["AUDIT_SINKS"], !raw.trimmed.isEmpty {
            for name in raw.split(separator: ",").map({ $0.trimmed.lowercased() }) where !name.isEmpty {
                guard let sink = Sink(rawValue: name) else {
                    throw .configuration("AUDIT_SINKS names \(name), which is not an audit sink.", hint: "Use a comma list of stdout, file, splunk, webhook.")
                }
                if !sinks.contains(sink) { sinks.append(sink) }
            }
        } else {
            if stdoutFlag { sinks.append(.stdout) }
            if filePath != nil { sinks.append(.file) }
            if environment["SPLUNK_HEC_URL"].map({ !$0.isEmpty }) ?? false { sinks.append(.splunk) }
            if environment["AUDIT_WEBHOOK_URL"].map({ !$0.isEmpty }) ?? false { sinks.append(.webhook) }
        }
        if sinks.contains(.file), filePath == nil { filePath = "audit.jsonl" }
        if sinks.contains(.splunk) { splunk = try Self.splunk(environment) }
        if sinks.contains(.webhook) { webhook = try Self.webhook(environment) }
        fileMaxBytes = try environment.int("TASKSHIM_AUDIT_FILE_MAX_BYTES", default: fileMaxBytes, in: 4096...(1 << 40))
        fileKeep = try environment.int("TASKSHIM_AUDIT_FILE_KEEP", default: fileKeep, in: 0...1000)
        spoolMaxBytes = try environment.int("TASKSHIM_AUDIT_SPOOL_MAX_BYTES", default: spoolMaxBytes, in: 16384...(1 << 40))
        batchSize = try environment.int("TASKSHIM_AUDIT_BATCH", default: batchSize, in: 1...10_000)
        maxBackoff = .milliseconds(Int64(try environment.double("TASKSHIM_AUDIT_MAX_BACKOFF", default: 30, in: 0.01...3600) * 1000))
        flushTimeout = .milliseconds(Int64(try environment.double("TASKSHIM_AUDIT_FLUSH_TIMEOUT", default: 2, in: 0...900) * 1000))
        if let raw = environment["TASKSHIM_AUDIT_OVERFLOW"], !raw.isEmpty {
            guard let overflow = AuditSpool.Overflow(rawValue: raw.lowercased()) else {
                throw .configuration("TASKSHIM_AUDIT_OVERFLOW=\(raw) is not an overflow policy.", hint: "Use drop-oldest (the default) or refuse.")
            }
            self.overflow = overflow
        }
        if let raw = environment["TASKSHIM_AUDIT_FSYNC"], !raw.isEmpty {
            guard let fsync = AuditFsync(rawValue: raw.lowercased()) else {
                throw .configuration("TASKSHIM_AUDIT_FSYNC=\(raw) is not an fsync policy.", hint: "Use always, everysec (the default) or no.")
            }
            self.fsync = fsync
        }
    }

    private static func splunk(_ environment: Environment) throws(TaskShimError) -> Splunk {
        guard let raw = environment["SPLUNK_HEC_URL"], !raw.isEmpty else {
            throw .configuration("AUDIT_SINKS has splunk but SPLUNK_HEC_URL is not set.", hint: "Set it to the HTTP Event Collector, for example https://splunk.example.com:8088.")
        }
        guard let token = environment["SPLUNK_HEC_TOKEN"], !token.isEmpty else {
            throw .configuration("SPLUNK_HEC_URL is set but SPLUNK_HEC_TOKEN is not.", hint: "Set it to the HEC token (sent as Authorization: Splunk <token>).")
        }
        guard let url = URL(string: raw), let scheme = url.scheme?.lowercased(), scheme == "https" || scheme == "http", url.host != nil else {
            throw .configuration("SPLUNK_HEC_URL=\(raw) is not an http(s) URL.", hint: "For example https://splunk.example.com:8088.")
        }
        // A bare host means the JSON event endpoint.
        var base = raw
        while base.hasSuffix("/") { base.removeLast() }
        let endpoint = url.path.isEmpty || url.path == "/" ? base + "/services/collector/event" : raw
        var splunk = Splunk(url: endpoint, token: token, host: environment["HOSTNAME"] ?? Platform.hostname ?? "localhost")
        splunk.index = environment["SPLUNK_HEC_INDEX"].flatMap { $0.isEmpty ? nil : $0 }
        if let source = environment["SPLUNK_HEC_SOURCE"], !source.isEmpty { splunk.source = source }
        if let sourcetype = environment["SPLUNK_HEC_SOURCETYPE"], !sourcetype.isEmpty { splunk.sourcetype = sourcetype }
        splunk.acknowledgements = try environment.bool("SPLUNK_HEC_ACK", default: false)
        return splunk
    }

    private static func webhook(_ environment: Environment) throws(TaskShimError) -> Webhook {
        guard let url = environment["AUDIT_WEBHOOK_URL"], !url.isEmpty else {
            throw .configuration("AUDIT_SINKS has webhook but AUDIT_WEBHOOK_URL is not set.", hint: "Set it to the receiver's URL.")
        }
        guard let parsed = URL(string: url), let scheme = parsed.scheme?.lowercased(), scheme == "https" || scheme == "http", parsed.host != nil else {
            throw .configuration("AUDIT_WEBHOOK_URL=\(url) is not an http(s) URL.")
        }
        guard let raw = environment["AUDIT_WEBHOOK_SECRET"], !raw.isEmpty else { return Webhook(url: url, secret: nil) }
        // Standard Webhooks secrets are `whsec_` and base64; anything else is used as it is.
        if raw.hasPrefix("whsec_") {
            guard let key = Data(base64Encoded: String(raw.dropFirst(6))) else {
                throw .configuration("AUDIT_WEBHOOK_SECRET starts with whsec_ but the rest is not base64.",
                                     hint: "Copy the secret as the receiver shows it (whsec_ followed by base64).")
            }
            return Webhook(url: url, secret: key)
        }
        return Webhook(url: url, secret: Data(raw.utf8))
    }
}
