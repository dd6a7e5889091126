import FoundationEssentials
import NIOHTTP1
import TaskShimCore

/// A CloudEvent (CloudEvents 1.0) as it arrives over HTTP, in binary mode (`ce-*` headers, the body
/// as data), structured mode (`application/cloudevents+json`) or batched mode
/// (`application/cloudevents-batch+json`). A handler gets it in structured form, as JSON, whatever
/// the mode it came in.
public struct CloudEvent: Sendable, Equatable {
    /// Context attributes: `specversion`, `id`, `source`, `type` (required), `subject`, `time`,
    /// `datacontenttype`, `dataschema` and extensions, as strings.
    public var attributes: [String: String]
    /// The data: JSON when the content type is JSON (or absent in structured mode), a string for text,
    /// nil when there is none or it is binary.
    public var data: JSONValue?
    /// Binary data, base64-encoded (`data_base64`).
    public var dataBase64: String?

    public var id: String { attributes["id"] ?? "" }
    public var type: String { attributes["type"] ?? "" }
    public var source: String { attributes["source"] ?? "" }
    public var time: String? { attributes["time"] }

    static let required = ["specversion", "id", "source", "type"]

    /// The event in structured mode: one JSON object.
    public var json: String {
        var object: [String: JSONValue] = attributes.mapValues { .string($0) }
        if let data { object["data"] = data }
        if let dataBase64 { object["data_base64"] = .string(dataBase64) }
        return JSONValue.object(object).encoded
    }

    /// Why a request is not a valid CloudEvent; answered 400.
    public struct Malformed: Error, Sendable, CustomStringConvertible {
        public var description: String
    }

    /// The events of a request, or nil when it is not a CloudEvent request at all (no `ce-specversion`
    /// header and no CloudEvents content type).
    public static func decode(headers: HTTPHeaders, body: Data) throws(Malformed) -> [CloudEvent]? {
        func header(_ name: String) -> String? { headers.first(name: name) }
        let contentType = header("content-type")
        let mediaType = contentType.map { $0.split(separator: ";").first.map { $0.trimmed.lowercased() } ?? "" }
        if mediaType == "application/cloudevents+json" {
            guard let value = JSONValue.parse(body) else { throw Malformed(description: "the structured CloudEvent is not JSON") }
            return [try structured(value)]
        }
        if mediaType == "application/cloudevents-batch+json" {
            guard let values = JSONValue.parse(body)?.array else { throw Malformed(description: "the CloudEvent batch is not a JSON array") }
            return try values.map { value throws(Malformed) in try structured(value) }
        }
        guard header("ce-specversion") != nil else { return nil }
        var attributes: [String: String] = [:]
        for (name, value) in headers {
            let lower = name.lowercased()
            guard lower.hasPrefix("ce-"), lower.count > 3 else { continue }
            attributes[String(lower.dropFirst(3))] = value.percentDecoded  // HTTP binding 3.1.3.2
        }
        if let contentType { attributes["datacontenttype"] = contentType }
        var event = CloudEvent(attributes: attributes)
        if !body.isEmpty {
            if mediaType.map(isJSON) ?? true {
                guard let value = JSONValue.parse(body) else { throw Malformed(description: "the event data is not the JSON its content type says") }
                event.data = value
            } else if mediaType?.hasPrefix("text/") == true {
                event.data = .string(String(decoding: body, as: UTF8.self))
            } else {
                event.dataBase64 = body.base64EncodedString()
            }
        }
        try event.validate()
        return [event]
    }

    static func structured(_ value: JSONValue) throws(Malformed) -> CloudEvent {
        guard let object = value.object else { throw Malformed(description: "a structured CloudEvent must be a JSON object") }
        var event = CloudEvent(attributes: [:])
        for (key, field) in object {
            switch key {
            case "data": event.data = field
            case "data_base64":
                guard let text = field.string else { throw Malformed(description: "data_base64 must be a string") }
                event.dataBase64 = text
            default:
                switch field {
                case .string(let text): event.attributes[key] = text
                case .number, .bool: event.attributes[key] = field.encoded
                case .null: continue
                default: throw Malformed(description: "the attribute \(key) must be a string")
                }
            }
        }
        try event.validate()
        return event
    }

    func validate() throws(Malformed) {
        for name in Self.required where (attributes[name] ?? "").isEmpty {
            throw Malformed(description: "the CloudEvent has no \(name)")
        }
        guard attributes["specversion"] == "1.0" else {
            throw Malformed(description: "specversion \(attributes["specversion"] ?? "") is not 1.0")
        }
        if let time = attributes["time"], Timestamp.parse(time) == nil {
            throw Malformed(description: "time \(time) is not an RFC 3339 timestamp")
        }
    }

    static func isJSON(_ mediaType: String) -> Bool {
        mediaType == "application/json" || mediaType == "text/json" || mediaType.hasSuffix("+json")
    }
}
