import FoundationEssentials
import Logging
import TaskShimCore

/// The audit trail of a process: each event goes to stdout and the file at once when those sinks are
/// on, and into the durable spool before any network sink (Splunk HEC, webhook) is tried; one
/// background loop per network sink delivers from the spool. ``flush()`` runs before Lambda asks for
/// its next event and ``close()`` at exit.
public final class AuditLog: AuditRecorder {
    public let configuration: AuditConfiguration
    private let standardOutput: (any LineWriter)?
    private let file: AuditFile?
    private let spool: AuditSpool?
    private let deliveries: [AuditDelivery]
    private let tasks: [Task<Void, Never>]
    private let logger: Logger
    private let redactor: Redactor

    /// Opens the sinks `configuration` names; nil when it names none. Every event is passed through
    /// `redactor` (as log lines are): a secret in an error message stays out of the trail.
    public static func start(_ configuration: AuditConfiguration, standardOutput: any LineWriter, dependencies: Dependencies,
                             redactor: Redactor, logger: Logger) throws(TaskShimError) -> AuditLog? {
        guard configuration.isEnabled else { return nil }
        return try AuditLog(configuration, standardOutput: standardOutput, dependencies: dependencies, redactor: redactor, logger: logger)
    }

    init(_ configuration: AuditConfiguration, standardOutput: any LineWriter, dependencies: Dependencies, redactor: Redactor,
         logger: Logger, transports extra: [any AuditTransport] = []) throws(TaskShimError) {
        self.configuration = configuration
        self.redactor = redactor
        self.logger = logger
        self.standardOutput = configuration.sinks.contains(.stdout) ? standardOutput : nil
        file = try configuration.sinks.contains(.file)
            ? AuditFile(path: configuration.filePath ?? "audit.jsonl", maxBytes: configuration.fileMaxBytes,
                        keep: configuration.fileKeep, fsync: configuration.fsync)
            : nil
        var transports: [any AuditTransport] = extra
        if let splunk = configuration.splunk, configuration.sinks.contains(.splunk) {
            transports.append(SplunkHEC(splunk, batchLimit: configuration.batchSize))
        }
        if let webhook = configuration.webhook, configuration.sinks.contains(.webhook) {
            if webhook.secret == nil {
                logger.warning("AUDIT_WEBHOOK_SECRET is not set: audit webhooks are sent unsigned")
            }
            transports.append(StandardWebhook(webhook))
        }
        if transports.isEmpty {
            spool = nil
            deliveries = []
            tasks = []
        } else {
            let spool = try AuditSpool(AuditSpool.Configuration(directory: configuration.spoolDirectory, maxBytes: configuration.spoolMaxBytes,
                                                                overflow: configuration.overflow, fsync: configuration.fsync),
                                       consumers: transports.map(\.name), logger: logger)
            self.spool = spool
            deliveries = transports.map { transport in
                AuditDelivery(transport: transport, spool: spool, breaker: dependencies.breaker(for: transport.dependency),
                              logger: logger, maxBackoff: configuration.maxBackoff)
            }
            tasks = deliveries.map { delivery in Task { await delivery.run() } }
            for delivery in deliveries where !spool.isDrained(delivery.name) {
                logger.notice("audit events from an earlier run are waiting; delivering them", metadata: [
                    "sink": .string(delivery.name), "backlog_bytes": .stringConvertible(spool.backlog(delivery.name)),
                ])
            }
        }
        if configuration.fsync == .everySecond, file != nil || spool != nil {
            let file = file, spool = spool
            syncer = Task {
                while !Task.isCancelled {
                    try? await Task.sleep(for: .seconds(1))
                    file?.sync()
                    spool?.sync()
                }
            }
        } else {
            syncer = nil
        }
    }

    private let syncer: Task<Void, Never>?

    public func record(_ event: AuditEvent) throws(TaskShimError) {
        let line = redactor.redact(event.json)
        if let standardOutput { standardOutput.write(line: #"{"log_type":"audit","# + line.dropFirst()) }
        try file?.append(line)
        if let spool {
            try spool.append(line)
            for delivery in deliveries { delivery.signal() }
        }
    }

    /// Forces the files to disk and gives the network sinks up to the flush timeout to deliver what is
    /// spooled (a failing sink is not waited for: its events are on disk).
    public func flush() async {
        file?.sync()
        spool?.sync()
        let deadline = ContinuousClock.now + configuration.flushTimeout
        for delivery in deliveries { await delivery.flush(until: deadline) }
    }

    /// Flushes, then stops the delivery loops; what they did not deliver stays spooled for the next start.
    public func close() async {
        await flush()
        syncer?.cancel()
        for task in tasks { task.cancel() }
        for delivery in deliveries { delivery.signal() }
        for task in tasks { await task.value }
        spool?.close()
        for delivery in deliveries where !(spool?.isDrained(delivery.name) ?? true) {
            logger.warning("audit events left in the spool for the next start", metadata: [
                "sink": .string(delivery.name), "backlog_bytes": .stringConvertible(spool?.backlog(delivery.name) ?? 0),
                "spool": .string(configuration.spoolDirectory),
            ])
        }
    }

    /// Events each network sink has delivered (for tests and the benchmark).
    var delivered: [String: Int] { Dictionary(uniqueKeysWithValues: deliveries.map { ($0.name, $0.delivered) }) }
}
