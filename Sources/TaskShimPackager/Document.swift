import TaskShimCore

/// A deployment file's content, with its keys in the order they are written, emitted as YAML or
/// JSON. Strings are always double-quoted (JSON escapes are valid YAML), so no value can be misread
/// as a number, a boolean or YAML syntax.
public indirect enum Document: Sendable, Equatable {
    case map([(String, Document)])
    case list([Document])
    case string(String)
    case integer(Int)
    case bool(Bool)

    public static func == (lhs: Document, rhs: Document) -> Bool { lhs.json == rhs.json }

    /// Block-style YAML, two spaces per level, ending with a newline.
    public var yaml: String {
        var out = ""
        write(into: &out, indent: 0)
        return out
    }

    /// JSON, two spaces per level, ending with a newline.
    public var json: String { pretty(0) + "\n" }

    private var scalar: String? {
        switch self {
        case .string(let text): JSONLine.quoted(text)
        case .integer(let value): String(value)
        case .bool(let value): value ? "true" : "false"
        case .map(let entries) where entries.isEmpty: "{}"
        case .list(let items) where items.isEmpty: "[]"
        default: nil
        }
    }

    private func write(into out: inout String, indent: Int) {
        let pad = String(repeating: " ", count: indent)
        switch self {
        case .map(let entries):
            for (key, value) in entries {
                if let scalar = value.scalar {
                    out += "\(pad)\(Self.key(key)): \(scalar)\n"
                } else {
                    out += "\(pad)\(Self.key(key)):\n"
                    value.write(into: &out, indent: indent + (value.isList ? 0 : 2))
                }
            }
        case .list(let items):
            for item in items {
                if let scalar = item.scalar {
                    out += "\(pad)- \(scalar)\n"
                } else {
                    // The item's first line follows the dash; the rest line up under it.
                    var nested = ""
                    item.write(into: &nested, indent: indent + 2)
                    out += pad + "- " + nested.dropFirst(indent + 2)
                }
            }
        default:
            out += pad + scalar! + "\n"
        }
    }

    private var isList: Bool { if case .list = self { true } else { false } }

    /// A key as is when it is plain (letters, digits, `_`, `-`, `.`, `/`), else quoted.
    private static func key(_ key: String) -> String {
        let plain = !key.isEmpty && key.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || "_-./".contains($0)) }
            && !(key.first!.isNumber || key.first == "-")
        return plain ? key : JSONLine.quoted(key)
    }

    private func pretty(_ level: Int) -> String {
        let pad = String(repeating: "  ", count: level + 1), end = String(repeating: "  ", count: level)
        switch self {
        case .map(let entries) where !entries.isEmpty:
            return "{\n" + entries.map { pad + JSONLine.quoted($0.0) + ": " + $0.1.pretty(level + 1) }.joined(separator: ",\n") + "\n" + end + "}"
        case .list(let items) where !items.isEmpty:
            return "[\n" + items.map { pad + $0.pretty(level + 1) }.joined(separator: ",\n") + "\n" + end + "]"
        default:
            return scalar!
        }
    }
}
