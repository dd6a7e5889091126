import FoundationEssentials
import TaskShimClients
import TaskShimCore

/// The `splunk` sink: Splunk's HTTP Event Collector. Several events per request, each in HEC's JSON
/// envelope (`time`, `host`, `source`, `sourcetype`, `index`, `event`), `Authorization: Splunk <token>`.
/// With indexer acknowledgement (`SPLUNK_HEC_ACK`) a batch counts as delivered only once
/// `/services/collector/ack` reports its `ackId` indexed.
struct SplunkHEC: AuditTransport {
    let name = "splunk"
    let dependency: String
    let batchLimit: Int
    let configuration: AuditConfiguration.Splunk
    let client: HTTPClient
    /// The indexer-acknowledgement channel, one per process (a GUID, as HEC requires).
    let channel = UUID().uuidString.lowercased()
    let ackTimeout: Duration

    init(_ configuration: AuditConfiguration.Splunk, batchLimit: Int, ackTimeout: Duration = .seconds(60)) {
        self.configuration = configuration
        self.batchLimit = batchLimit
        self.ackTimeout = ackTimeout
        dependency = "splunk-hec:" + HTTPClient.host(of: configuration.url)
        client = HTTPClient(options: HTTPClient.Options(connectTimeout: .seconds(5), requestTimeout: .seconds(30), maxResponseBytes: 1 << 20))
    }

    /// HEC's JSON envelope around one event.
    func envelope(_ event: Data) -> String {
        let time = Self.time(of: event) ?? Date()
        var line = JSONLine()
        line.reserveCapacity(event.count + 128)
        line.add("time", (time.timeIntervalSince1970 * 1000).rounded() / 1000)
        line.add("host", configuration.host)
        line.add("source", configuration.source)
        line.add("sourcetype", configuration.sourcetype)
        if let index = configuration.index { line.add("index", index) }
        line.add("event", rawJSON: String(decoding: event, as: UTF8.self))
        return line.string
    }

    /// The event's `time`: found right after its `id` in the events the runtime writes, else parsed.
    static func time(of event: Data) -> Date? {
        let marker = Array(#","time":""#.utf8)
        let head = event.prefix(96)
        if let start = head.firstIndex(ofBytes: marker) {
            let from = start + marker.count
            if let end = head[from...].firstIndex(of: UInt8(ascii: "\"")), let date = Timestamp.parse(String(decoding: head[from..<end], as: UTF8.self)) {
                return date
            }
        }
        return JSONValue.parse(event)?["time"]?.string.flatMap { Timestamp.parse($0) }
    }

    var headers: [(String, String)] {
        var headers = [("Authorization", "Splunk " + configuration.token), ("Content-Type", "application/json")]
        if configuration.acknowledgements { headers.append(("X-Splunk-Request-Channel", channel)) }
        return headers
    }

    func send(_ events: [Data]) async throws {
        let body = events.map(envelope).joined(separator: "\n")
        let response = try await client.send(HTTPRequest(method: "POST", url: configuration.url, headers: headers, body: Data(body.utf8)))
        try Self.check(response, url: configuration.url)
        guard configuration.acknowledgements else { return }
        guard let ack = JSONValue.parse(response.body)?["ackId"], case .number(let id) = ack else {
            throw TaskShimError(.protocolError, "Splunk HEC at \(configuration.url) did not return an ackId although SPLUNK_HEC_ACK is on.",
                                hint: "Turn on indexer acknowledgement for the token, or unset SPLUNK_HEC_ACK.")
        }
        try await waitForAcknowledgement(Int(id))
    }

    /// Polls `/services/collector/ack` until the batch is indexed; past `ackTimeout` the batch is sent again.
    private func waitForAcknowledgement(_ id: Int) async throws {
        let url = Self.ackURL(configuration.url)
        let start = ContinuousClock.now
        var wait = Duration.milliseconds(50)
        while ContinuousClock.now - start < ackTimeout {
            let response = try await client.send(HTTPRequest(method: "POST", url: url, headers: headers, body: Data(#"{"acks":[\#(id)]}"#.utf8)))
            try Self.check(response, url: url)
            if case .bool(true)? = JSONValue.parse(response.body)?["acks"]?[String(id)] { return }
            try await Task.sleep(for: wait)
            wait = min(wait * 2, .seconds(2))
        }
        throw TaskShimError.temporary("Splunk HEC did not acknowledge ackId \(id) within \(Int(ackTimeout.seconds)) s; the batch is sent again.")
    }

    static func ackURL(_ url: String) -> String {
        let marker = Array("/services/collector".utf8), bytes = Array(url.utf8)
        guard let start = bytes.firstIndex(ofBytes: marker) else { return url }
        return String(decoding: bytes[..<start], as: UTF8.self) + "/services/collector/ack"
    }

    /// Sorts HEC's answers (its documented status and `code` values) into the delivery loop's classes.
    static func check(_ response: HTTPResponse, url: String) throws(TaskShimError) {
        if (200..<300).contains(response.status) { return }
        let answer = JSONValue.parse(response.body)
        let code = answer?["code"].flatMap { value -> Int? in if case .number(let n) = value { return Int(n) } else { return nil } }
        let text = answer?["text"]?.string ?? String(decoding: response.body.prefix(200), as: UTF8.self)
        let said = "Splunk HEC at \(HTTPClient.host(of: url)) answered \(response.status)\(code.map { " code \($0)" } ?? ""): \(text)"
        switch (response.status, code) {
        case (401, _), (403, _):
            throw TaskShimError(.noPermission, said, hint: "Check SPLUNK_HEC_TOKEN and that the token is enabled.")
        case (400, 7?):
            throw TaskShimError(.configuration, said, hint: "The token may not write to SPLUNK_HEC_INDEX; fix the index or the token's allowed indexes.")
        case (400, 10?), (400, 11?), (400, 14?):
            throw TaskShimError(.configuration, said, hint: "Indexer acknowledgement and SPLUNK_HEC_ACK disagree; set SPLUNK_HEC_ACK to match the token.")
        case (400, 5?), (400, 6?), (400, 12?), (400, 13?), (413, _):
            throw TaskShimError(.dataError, said)
        case (400, _):
            throw TaskShimError(.configuration, said, hint: "Check the HEC token's settings and SPLUNK_HEC_* variables.")
        case (404, _):
            throw TaskShimError(.configuration, said, hint: "Check SPLUNK_HEC_URL (the collector listens on /services/collector/event, port 8088 by default).")
        default:
            var error = TaskShimError.temporary(said)
            error.retryAfter = response.retryAfter()
            throw error
        }
    }
}
