import FoundationEssentials
import TaskShimClients
import TaskShimCore

/// The `webhook` sink: one POST per event, signed per the Standard Webhooks specification. The body
/// is `{"type":"audit.<action>","timestamp":...,"data":<event>}`; `webhook-id` is the event's id (the
/// receiver's idempotency key, the same on every retry), `webhook-timestamp` the send time in Unix
/// seconds, and `webhook-signature` is `v1,` and the base64 HMAC-SHA256 of `id.timestamp.body`.
struct StandardWebhook: AuditTransport {
    let name = "webhook"
    let dependency: String
    let batchLimit = 1
    let url: String
    let secret: Data?
    let client: HTTPClient

    init(_ configuration: AuditConfiguration.Webhook) {
        url = configuration.url
        secret = configuration.secret
        dependency = "webhook:" + HTTPClient.host(of: configuration.url)
        client = HTTPClient(options: HTTPClient.Options(connectTimeout: .seconds(5), requestTimeout: .seconds(15), maxResponseBytes: 64 << 10))
    }

    /// `v1,<base64 HMAC-SHA256(key, "id.timestamp.body")>`.
    static func signature(id: String, timestamp: Int, body: Data, key: Data) throws -> String {
        var message = Data("\(id).\(timestamp).".utf8)
        message.append(body)
        return "v1," + (try HMAC.sha256(key: key, message: message)).base64EncodedString()
    }

    func send(_ events: [Data]) async throws {
        for event in events {
            let parsed = JSONValue.parse(event)
            let id = parsed?["id"]?.string ?? RequestID.generate()
            var body = Data(#"{"type":"#.utf8)
            body.append(Data(JSONLine.quoted("audit." + (parsed?["action"]?.string ?? "event")).utf8))
            body.append(Data(#","timestamp":"#.utf8))
            body.append(Data(JSONLine.quoted(parsed?["time"]?.string ?? Timestamp.format(Date())).utf8))
            body.append(Data(#","data":"#.utf8))
            body.append(event)
            body.append(UInt8(ascii: "}"))
            let timestamp = Int(Date().timeIntervalSince1970)
            var headers = [("Content-Type", "application/json"), ("webhook-id", id), ("webhook-timestamp", String(timestamp))]
            if let secret { headers.append(("webhook-signature", try Self.signature(id: id, timestamp: timestamp, body: body, key: secret))) }
            let response = try await client.send(HTTPRequest(method: "POST", url: url, headers: headers, body: body))
            try Self.check(response, url: url)
        }
    }

    static func check(_ response: HTTPResponse, url: String) throws(TaskShimError) {
        if (200..<300).contains(response.status) { return }
        let said = "The audit webhook at \(HTTPClient.host(of: url)) answered \(response.status): \(String(decoding: response.body.prefix(200), as: UTF8.self))"
        switch response.status {
        case 401, 403:
            throw TaskShimError(.noPermission, said, hint: "Check AUDIT_WEBHOOK_SECRET against the receiver's signing secret.")
        case 400, 404, 405, 410:
            // Receivers answer 400 to a bad signature or a skewed clock as often as to a bad event:
            // held, not set aside, so a wrong secret cannot drain the trail into the rejected file.
            throw TaskShimError(.configuration, said, hint: "Check AUDIT_WEBHOOK_URL and AUDIT_WEBHOOK_SECRET, and this host's clock.")
        case 413, 415, 422:
            throw TaskShimError(.dataError, said)
        default:
            var error = TaskShimError.temporary(said)
            error.retryAfter = response.retryAfter()
            throw error
        }
    }
}
