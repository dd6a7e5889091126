import FoundationEssentials

/// One entry of the audit trail: what happened, when, to what, and how it ended. Written as one JSON
/// object: `id` (unique, the receivers' idempotency key), `time`, `action`, then the fields in order.
public struct AuditEvent: Sendable {
    public var id: String
    public var time: Date
    /// What happened: `invocation` for the runtime's own event per run, or a handler's verb
    /// (`export.published`, `user.deleted`).
    public var action: String
    /// The event's other fields, in the order they are written.
    public var fields: [(String, JSONValue)]

    public init(action: String, fields: [(String, JSONValue)] = [], id: String = RequestID.generate(), time: Date = Date()) {
        self.id = id
        self.time = time
        self.action = action
        self.fields = fields
    }

    /// The event for one run of a handler: who or what triggered it, the handler, logical time,
    /// attempt, outcome, duration, and the request, trace and idempotency ids.
    public init(invocation: Invocation, handler: String, status: ExitStatus, duration: Duration, error: TaskShimError?) {
        var fields: [(String, JSONValue)] = [
            ("handler", .string(handler)),
            ("trigger", .string(invocation.trigger.rawValue)),
            ("logical_time", .string(Timestamp.format(invocation.logicalTime, fractional: false))),
            ("attempt", .number(Double(invocation.attempt))),
            ("outcome", .string(status == .ok ? "ok" : status.name)),
            ("exit_code", .number(Double(status.rawValue))),
            ("duration_ms", .number(Runner.milliseconds(duration))),
            ("request_id", .string(invocation.requestID)),
            ("idempotency_key", .string(invocation.idempotencyKey)),
        ]
        if let trace = invocation.traceID { fields.append(("trace_id", .string(trace))) }
        if invocation.dryRun { fields.append(("dry_run", .bool(true))) }
        if !invocation.attributes.isEmpty {
            var source: [String: JSONValue] = [:]
            for (name, value) in invocation.attributes { source[name] = .string(value) }
            fields.append(("source", .object(source)))
        }
        if let error { fields.append(("error", .string(error.message))) }
        self.init(action: "invocation", fields: fields)
    }

    /// The event as one line of JSON, without the newline.
    public var json: String {
        var line = JSONLine()
        line.reserveCapacity(256)
        line.add("id", id)
        line.add("time", Timestamp.format(time))
        line.add("action", action)
        for (key, value) in fields { line.add(key, rawJSON: value.encoded) }
        return line.string
    }
}

/// Where audit events go. The runtime records one per run; handlers add their own through
/// ``HandlerContext/audit``. Recording is quick (a local append); delivery to network sinks happens
/// in the background.
public protocol AuditRecorder: Sendable {
    /// Records the event, or throws when it cannot be kept (the spool is full and set to refuse).
    func record(_ event: AuditEvent) throws(TaskShimError)
}

/// No audit trail: what a run gets when no sink is configured.
public struct NoAudit: AuditRecorder {
    public init() {}
    public func record(_ event: AuditEvent) throws(TaskShimError) {}
}
