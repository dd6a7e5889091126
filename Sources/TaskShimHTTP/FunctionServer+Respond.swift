import FoundationEssentials
import Logging
import NIOHTTP1
import TaskShimCore

/// What one request means under each signature, and the answer for each outcome.
extension FunctionServer {
    /// Runs the handler for one request and returns status, headers and body. The calling task is the
    /// request's own, and its connection cancels it at `deadline`.
    nonisolated(nonsending) func respond(to head: HTTPRequestHead, body: Data, remoteAddress: String?, deadline: Date) async -> Answer {
        let path = head.path
        if path == "/robots.txt" || path == "/favicon.ico" {
            return Answer.plain(.notFound, "Not Found")
        }
        var invocation = Invocation(payload: body, trigger: .http, deadline: deadline)
        if let id = head.headers.first(name: "Function-Execution-Id"), !id.isEmpty { invocation.requestID = id }
        if let trace = TraceContext(traceparent: head.headers.first(name: "traceparent"),
                                    cloudTraceContext: head.headers.first(name: "X-Cloud-Trace-Context")) {
            invocation.traceID = trace.traceID
            invocation.spanID = trace.spanID
        }
        let request = RequestLog(head: head, bodySize: body.count, remoteAddress: remoteAddress)
        let headers = head.headers

        switch configuration.signature {
        case .http:
            // Each signature sets the attributes at once: a dictionary literal per request, not two.
            invocation.attributes = ["http_method": head.method.rawValue, "http_path": path]
            let push: PubSubPush?
            do { push = try PubSubPush.decode(headers: headers, body: body) } catch {
                return Answer.plain(.badRequest, "Malformed Pub/Sub push: \(error.description).")
            }
            if let push { return await deliver(push, invocation, request) }
            if let scheduled = head.headers.first(name: "X-CloudScheduler-ScheduleTime") {
                guard let time = Timestamp.parse(scheduled) else {
                    return Answer.plain(.badRequest, "X-CloudScheduler-ScheduleTime \(scheduled) is not an RFC 3339 timestamp.")
                }
                let job = head.headers.first(name: "X-CloudScheduler-JobName") ?? ""
                invocation.trigger = .scheduler
                invocation.platformRetries = true
                invocation.logicalTime = time
                // The same on every retry of one firing, so the handler can tell a retry from a new run.
                invocation.idempotencyKey = "\(job)@\(Timestamp.format(time, fractional: false))"
                if !job.isEmpty { invocation.attributes["scheduler_job_name"] = job }
                return await run(invocation, request, acknowledgingPermanentErrors: true)
            }
            return await run(invocation, request, acknowledgingPermanentErrors: false)

        case .cloudEvent:
            var events: [CloudEvent]
            do {
                if let decoded = try CloudEvent.decode(headers: headers, body: body) {
                    events = decoded
                } else if let legacy = try LegacyEvent.decode(body) {
                    events = [try CloudEvent(legacy: legacy)]
                } else {
                    return Answer.plain(.badRequest, "The request is not a CloudEvent: it has no ce-specversion header, is not application/cloudevents+json and is not a legacy event.")
                }
            } catch {
                return Answer.plain(.badRequest, "Malformed CloudEvent: \(error.description).")
            }
            // One invocation, its event fields set for each event in turn (a copy per event costs a
            // retain and a release of each of its fields).
            let received = invocation.logicalTime
            invocation.trigger = .cloudEvent
            invocation.platformRetries = true  // Eventarc redelivers
            for event in events {
                invocation.payload = event.jsonData
                invocation.idempotencyKey = event.id
                invocation.logicalTime = event.time.flatMap(Timestamp.parse) ?? received
                // In name order: each is appended after one comparison.
                invocation.attributes = ["ce_id": event.id, "ce_source": event.source, "ce_type": event.type,
                                         "http_method": head.method.rawValue, "http_path": path]
                let answer = await run(invocation, request, acknowledgingPermanentErrors: false)
                if answer.status != .ok { return answer }
            }
            return Answer.accepted

        case .event:
            let event: LegacyEvent
            do {
                if let cloudEvents = try CloudEvent.decode(headers: headers, body: body) {
                    guard cloudEvents.count == 1 else {
                        return Answer.plain(.badRequest, "An event function takes one event per request, not a batch.")
                    }
                    event = try cloudEvents[0].legacy()
                } else if let legacy = try LegacyEvent.decode(body) {
                    event = legacy
                } else {
                    return Answer.plain(.badRequest, "The request is not an event: a JSON object with eventId, timestamp, eventType and data, or a CloudEvent.")
                }
            } catch {
                return Answer.plain(.badRequest, "Malformed event: \(error.description).")
            }
            invocation.trigger = .cloudEvent
            invocation.platformRetries = true
            invocation.payload = Data(event.json.utf8)
            invocation.idempotencyKey = event.eventID
            if let time = Timestamp.parse(event.timestamp) { invocation.logicalTime = time }
            invocation.attributes = ["event_type": event.eventType, "http_method": head.method.rawValue, "http_path": path]
            let answer = await run(invocation, request, acknowledgingPermanentErrors: false)
            return answer.status == .ok ? Answer.accepted : answer
        }
    }

    /// One Pub/Sub push: the handler gets the message data. A message already handled is acknowledged
    /// again without running; one running now is refused, so Pub/Sub redelivers it later.
    private nonisolated(nonsending) func deliver(_ push: PubSubPush, _ base: Invocation, _ request: RequestLog) async -> Answer {
        var invocation = base
        invocation.trigger = .pubsub
        invocation.platformRetries = true
        invocation.payload = push.data
        invocation.idempotencyKey = push.messageID
        if let time = push.publishTime { invocation.logicalTime = time }
        if let attempt = push.deliveryAttempt, attempt > 0 { invocation.attempt = attempt }
        invocation.attributes["pubsub_message_id"] = push.messageID
        if let subscription = push.subscription { invocation.attributes["pubsub_subscription"] = subscription }
        if let key = push.orderingKey, !key.isEmpty { invocation.attributes["pubsub_ordering_key"] = key }
        for (name, value) in push.attributes { invocation.attributes["pubsub_attribute_\(name)"] = value }
        switch deliveries.begin(push.messageID) {
        case .done:
            logger.info("duplicate Pub/Sub delivery acknowledged without running", metadata: [
                "message_id": .string(push.messageID), "request_id": .string(invocation.requestID),
            ])
            return Answer.plain(.ok, "Already processed")
        case .running:
            return Answer.plain(.conflict, "Message \(push.messageID) is being processed; it will be redelivered.")
        case .new:
            let answer = await run(invocation, request, acknowledgingPermanentErrors: true)
            deliveries.finish(push.messageID, acknowledged: answer.status.code < 300)
            return answer
        }
    }

    /// Runs the invocation and answers for its outcome; the run-summary line carries `httpRequest`.
    private nonisolated(nonsending) func run(_ invocation: Invocation, _ request: RequestLog, acknowledgingPermanentErrors: Bool) async -> Answer {
        let deadline = invocation.deadline ?? .distantFuture
        let outcome = await runner.run(handler, invocation, deadline: .callerCancels, annotate: { outcome in
            let status = Self.answer(for: outcome, deadline: deadline, acknowledgingPermanentErrors: acknowledgingPermanentErrors).status
            return ["httpRequest": request.metadata(status: Int(status.code), latency: outcome.duration, responseSize: outcome.output.count)]
        })
        return Self.answer(for: outcome, deadline: deadline, acknowledgingPermanentErrors: acknowledgingPermanentErrors)
    }

    /// 200 with the output; 504 past the deadline; 500 with `X-Google-Status: error` for an error the
    /// handler reported and `crash` for one it did not expect (a bug: exit status 70). Where the sender
    /// retries every failure (Pub/Sub push, Cloud Scheduler), an error that will fail again with the
    /// same input (bad data, exit 65 or 64) is acknowledged with 200 instead: the run-summary line
    /// records it. The details are in that line, not in the answer.
    static func answer(for outcome: Runner.Outcome, deadline: Date, acknowledgingPermanentErrors: Bool) -> Answer {
        guard let error = outcome.error else { return .output(outcome.output) }
        if Date() >= deadline {
            return .plain(.gatewayTimeout, "Deadline exceeded", headers: [("X-Google-Status", "error")])
        }
        if acknowledgingPermanentErrors, error.status == .dataError || error.status == .usage {
            return .plain(.ok, "Not retryable (\(error.status.name)); acknowledged")
        }
        return .plain(.internalServerError, "Internal Server Error", headers: [("X-Google-Status", error.status == .software ? "crash" : "error")])
    }
}

/// The request half of Cloud Logging's `httpRequest` (LogEntry.HttpRequest); the fields are worked
/// out only when the line is written.
struct RequestLog: Sendable {
    var head: HTTPRequestHead
    var bodySize: Int
    var remoteAddress: String?

    func metadata(status: Int, latency: Duration, responseSize: Int) -> Logger.MetadataValue {
        let scheme = head.headers.first(name: "X-Forwarded-Proto") ?? "http"
        let url = head.headers.first(name: "Host").map { "\(scheme)://\($0)\(head.uri)" } ?? head.uri
        let nanoseconds = latency.nanoseconds
        var fields: Logger.Metadata = [
            "requestMethod": .string(head.method.rawValue),
            "requestUrl": .string(url),
            "status": .stringConvertible(status),
            "requestSize": .string(String(bodySize)),
            "responseSize": .string(String(responseSize)),
            "latency": .string(Self.duration(seconds: nanoseconds / 1_000_000_000, nanoseconds: nanoseconds % 1_000_000_000)),
            "protocol": .string(head.version.major >= 2 ? "HTTP/\(head.version.major)" : "HTTP/\(head.version.major).\(head.version.minor)"),
        ]
        if let userAgent = head.headers.first(name: "User-Agent") { fields["userAgent"] = .string(userAgent) }
        let forwarded = head.headers.first(name: "X-Forwarded-For")?.split(separator: ",").first.map { $0.trimmed }
        if let address = forwarded ?? remoteAddress { fields["remoteIp"] = .string(address) }
        return .dictionary(fields)
    }

    /// A protobuf Duration as JSON: decimal seconds with up to nine digits, `"0.000092598s"`.
    static func duration(seconds: Int64, nanoseconds: Int64) -> String {
        var fraction = String(nanoseconds)
        fraction = String(repeating: "0", count: 9 - fraction.count) + fraction
        while fraction.hasSuffix("0") { fraction.removeLast() }
        return fraction.isEmpty ? "\(seconds)s" : "\(seconds).\(fraction)s"
    }
}
