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
    public var attributes: Attributes
    /// The data: JSON when the content type is JSON (or absent in structured mode), a string for text,
    /// nil when there is none or it is binary.
    public var data: JSONValue?
    /// Binary data, base64-encoded (`data_base64`).
    public var dataBase64: String?
    /// JSON data as it arrived in binary mode: checked, not parsed (the handler gets it spliced into
    /// the structured event as it is).
    var dataJSON: Data?

    /// The data as a value, parsing JSON data that arrived as bytes.
    public var dataValue: JSONValue? {
        data ?? dataJSON.flatMap(JSONValue.parse)
    }

    public var id: String { attributes["id"] ?? "" }
    public var type: String { attributes["type"] ?? "" }
    public var source: String { attributes["source"] ?? "" }
    public var time: String? { attributes["time"] }

    static let required = ["specversion", "id", "source", "type"]

    /// The event in structured mode, one JSON object, written directly as bytes: the handler's
    /// payload for every event.
    public var jsonData: Data {
        var out: [UInt8] = []
        out.reserveCapacity(64 + attributes.count * 48 + (dataJSON?.count ?? 0))
        out.append(UInt8(ascii: "{"))
        func member(_ name: String) {
            if out.count > 1 { out.append(UInt8(ascii: ",")) }
            Self.appendQuoted(name, to: &out)
            out.append(UInt8(ascii: ":"))
        }
        for (name, value) in attributes {
            member(name)
            Self.appendQuoted(value, to: &out)
        }
        if let dataJSON {
            member("data")
            dataJSON.withUnsafeBytes { out.append(contentsOf: $0) }
        } else if let data {
            member("data")
            out.append(contentsOf: data.encoded.utf8)
        }
        if let dataBase64 {
            member("data_base64")
            Self.appendQuoted(dataBase64, to: &out)
        }
        out.append(UInt8(ascii: "}"))
        return out.withUnsafeBytes { Data($0) }
    }

    /// `value` as a JSON string, escaped as RFC 8259 requires.
    static func appendQuoted(_ value: String, to out: inout [UInt8]) {
        var value = value
        value.withUTF8 { appendQuoted(bytes: $0, to: &out) }
    }

    static func appendQuoted(bytes value: some Collection<UInt8>, to out: inout [UInt8]) {
        out.append(UInt8(ascii: "\""))
        defer { out.append(UInt8(ascii: "\"")) }
        // Most values need no escape: copied whole.
        if !value.contains(where: { $0 < 0x20 || $0 == UInt8(ascii: "\"") || $0 == UInt8(ascii: "\\") }) {
            out.append(contentsOf: value)
            return
        }
        for byte in value {
            switch byte {
            case UInt8(ascii: "\""), UInt8(ascii: "\\"):
                out.append(UInt8(ascii: "\\"))
                out.append(byte)
            case 0x0A: out.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "n")])
            case 0x0D: out.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "r")])
            case 0x09: out.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "t")])
            case 0..<0x20:
                let digits = Array("0123456789abcdef".utf8)
                out.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "u"), UInt8(ascii: "0"), UInt8(ascii: "0"),
                                        digits[Int(byte >> 4)], digits[Int(byte & 0xF)]])
            default:
                out.append(byte)
            }
        }
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
        let mediaType = contentType.map(Self.mediaType)
        if mediaType == "application/cloudevents+json" {
            guard let value = JSONValue.parse(body) else { throw Malformed(description: "the structured CloudEvent is not JSON") }
            return [try structured(value)]
        }
        if mediaType == "application/cloudevents-batch+json" {
            guard let values = JSONValue.parse(body)?.array else { throw Malformed(description: "the CloudEvent batch is not a JSON array") }
            return try values.map { value throws(Malformed) in try structured(value) }
        }
        var attributes = Attributes(capacity: 8)
        for (name, value) in headers {
            var name = name
            let key: String? = name.withUTF8 { bytes in
                guard bytes.count > 3, bytes[0] | 0x20 == UInt8(ascii: "c"), bytes[1] | 0x20 == UInt8(ascii: "e"),
                      bytes[2] == UInt8(ascii: "-") else { return nil }
                // Header names are ASCII, most already lowercase.
                let suffix = bytes[3...]
                if suffix.contains(where: { (0x41...0x5A).contains($0) }) {
                    return String(decoding: suffix.map { (0x41...0x5A).contains($0) ? $0 | 0x20 : $0 }, as: UTF8.self)
                }
                return String(decoding: suffix, as: UTF8.self)
            }
            guard let key else { continue }
            attributes[key] = value.percentDecoded  // HTTP binding 3.1.3.2
        }
        // No ce-specversion header (in any case): not a binary-mode event.
        guard attributes["specversion"] != nil else { return nil }
        if let contentType { attributes["datacontenttype"] = contentType }
        var event = CloudEvent(attributes: attributes)
        if !body.isEmpty {
            if mediaType.map(isJSON) ?? true {
                guard JSONValue.isValid(body) else { throw Malformed(description: "the event data is not the JSON its content type says") }
                event.dataJSON = body
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

    /// `application/json` from `Application/JSON; charset=utf-8`; as it is when already plain.
    static func mediaType(_ contentType: String) -> String {
        var copy = contentType
        if !copy.withUTF8({ $0.contains(where: { $0 == UInt8(ascii: ";") || $0 == 0x20 || (0x41...0x5A).contains($0) }) }) {
            return contentType
        }
        return contentType.split(separator: ";").first.map { $0.trimmed.lowercased() } ?? ""
    }

    static func isJSON(_ mediaType: String) -> Bool {
        mediaType == "application/json" || mediaType == "text/json" || mediaType.hasSuffix("+json")
    }
}
