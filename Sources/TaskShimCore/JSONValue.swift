import FoundationEssentials

/// A parsed JSON document, for reading events without Foundation's `JSONSerialization`.
public enum JSONValue: Sendable, Equatable, Decodable {
    case null
    case bool(Bool)
    case number(Double)
    case string(String)
    case array([JSONValue])
    case object([String: JSONValue])

    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if container.decodeNil() { self = .null }
        else if let value = try? container.decode(Bool.self) { self = .bool(value) }
        else if let value = try? container.decode(Double.self) { self = .number(value) }
        else if let value = try? container.decode(String.self) { self = .string(value) }
        else if let value = try? container.decode([JSONValue].self) { self = .array(value) }
        else { self = .object(try container.decode([String: JSONValue].self)) }
    }

    /// Parses `data`; nil when it is not JSON.
    public static func parse(_ data: Data) -> JSONValue? {
        // Read in place: the value holds copies of what it needs.
        data.withUnsafeBytes { JSONParser.parse($0) }
    }

    /// Whether `data` is one JSON value, checked without building it.
    public static func isValid(_ data: Data) -> Bool {
        data.withUnsafeBytes { JSONParser.isValid($0) }
    }

    public subscript(_ key: String) -> JSONValue? {
        if case .object(let object) = self { return object[key] }
        return nil
    }

    public var string: String? {
        if case .string(let value) = self { return value }
        return nil
    }

    public var array: [JSONValue]? {
        if case .array(let value) = self { return value }
        return nil
    }

    public var object: [String: JSONValue]? {
        if case .object(let value) = self { return value }
        return nil
    }

    /// The value as compact JSON text (object keys sorted).
    public var encoded: String {
        switch self {
        case .null: return "null"
        case .bool(let value): return value ? "true" : "false"
        case .number(let value): return JSONLine.number(value)
        case .string(let value): return JSONLine.quoted(value)
        case .array(let values): return "[" + values.map(\.encoded).joined(separator: ",") + "]"
        case .object(let object):
            var line = JSONLine()
            for key in object.keys.sorted() { line.add(key, rawJSON: object[key]!.encoded) }
            return line.string
        }
    }
}
