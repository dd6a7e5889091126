/// The part of TOML 1.0 a task manifest needs, read with the line of every value so errors can say
/// where: comments, `[table]` and `[a."b-c"]` headers, `key = value` with bare or quoted keys,
/// basic and literal strings, integers, booleans, arrays (over several lines too) and inline tables.
/// Multi-line strings, floats, dates, dotted keys and `[[arrays of tables]]` are refused by name.
struct TOMLDocument {
    indirect enum Value: Equatable {
        case string(String)
        case integer(Int)
        case bool(Bool)
        case array([Located])
        case table([String: Located])
    }

    struct Located: Equatable {
        var value: Value
        var line: Int
    }

    /// The top-level table.
    var root: [String: Located] = [:]

    init(parsing text: String) throws(ScheduleError) {
        var parser = Parser(bytes: Array(text.utf8))
        root = try parser.document()
    }

    private struct Parser {
        let bytes: [UInt8]
        var index = 0
        var line = 1

        init(bytes: [UInt8]) { self.bytes = bytes }

        func fail(_ message: String, at line: Int? = nil) -> ScheduleError {
            ScheduleError("line \(line ?? self.line): \(message)")
        }

        var atEnd: Bool { index >= bytes.count }
        var peek: UInt8? { atEnd ? nil : bytes[index] }

        mutating func skipSpaces() {
            while let byte = peek, byte == 0x20 || byte == 0x09 { index += 1 }
        }

        /// Spaces, comments and newlines (inside arrays).
        mutating func skipBlank() {
            while let byte = peek {
                if byte == 0x20 || byte == 0x09 || byte == 0x0D { index += 1 } else if byte == 0x0A { index += 1; line += 1 } else if byte == UInt8(ascii: "#") {
                    while let b = peek, b != 0x0A { index += 1 }
                } else { return }
            }
        }

        /// The rest of the line must be empty or a comment.
        mutating func endOfLine() throws(ScheduleError) {
            skipSpaces()
            if peek == UInt8(ascii: "#") { while let b = peek, b != 0x0A { index += 1 } }
            if peek == 0x0D { index += 1 }
            guard atEnd || peek == 0x0A else { throw fail("unexpected text after the value") }
            if !atEnd { index += 1; line += 1 }
        }

        mutating func document() throws(ScheduleError) -> [String: Located] {
            var root: [String: Located] = [:]
            var path: [String] = []
            var definedTables: Set<[String]> = []
            while true {
                skipBlank()
                guard let byte = peek else { return root }
                if byte == UInt8(ascii: "[") {
                    index += 1
                    guard peek != UInt8(ascii: "[") else { throw fail("arrays of tables ([[...]]) are not used in a task manifest") }
                    path = try keyPath(until: UInt8(ascii: "]"))
                    index += 1
                    guard definedTables.insert(path).inserted else { throw fail("the table [\(path.joined(separator: "."))] is defined twice") }
                    let headerLine = line
                    try endOfLine()
                    try ensureTable(&root, path, line: headerLine)
                    continue
                }
                let keyLine = line
                let keys = try keyPath(until: UInt8(ascii: "="))
                guard keys.count == 1 else { throw fail("dotted keys are not used in a task manifest: write a [table]") }
                index += 1
                skipSpaces()
                let value = try self.value()
                try endOfLine()
                try insert(&root, path, key: keys[0], value, line: keyLine)
            }
        }

        mutating func ensureTable(_ table: inout [String: Located], _ path: [String], line: Int) throws(ScheduleError) {
            guard let first = path.first else { return }
            var child: [String: Located] = [:]
            if let existing = table[first] {
                guard case .table(let inner) = existing.value else { throw fail("\(first) is already a value, not a table", at: line) }
                child = inner
            }
            try ensureTable(&child, Array(path.dropFirst()), line: line)
            table[first] = Located(value: .table(child), line: table[first]?.line ?? line)
        }

        mutating func insert(_ table: inout [String: Located], _ path: [String], key: String, _ value: Located, line: Int) throws(ScheduleError) {
            guard let first = path.first else {
                guard table[key] == nil else { throw fail("\(key) is set twice (first on line \(table[key]!.line))", at: line) }
                table[key] = Located(value: value.value, line: line)
                return
            }
            guard case .table(var child)? = table[first]?.value else { throw fail("\(first) is not a table", at: line) }
            try insert(&child, Array(path.dropFirst()), key: key, value, line: line)
            table[first]?.value = .table(child)
        }

        /// `a`, `a.b`, `"quoted key".c` up to `terminator` (not consumed).
        mutating func keyPath(until terminator: UInt8) throws(ScheduleError) -> [String] {
            var keys: [String] = []
            while true {
                skipSpaces()
                if peek == UInt8(ascii: "\"") || peek == UInt8(ascii: "'") {
                    guard case .string(let key) = try value().value else { throw fail("a key must be text") }
                    keys.append(key)
                } else {
                    let start = index
                    while let b = peek, isBareKey(b) { index += 1 }
                    guard index > start else { throw fail(atEnd ? "unexpected end of the file" : "'\(Character(Unicode.Scalar(peek!)))' cannot start a key") }
                    keys.append(String(decoding: bytes[start..<index], as: UTF8.self))
                }
                skipSpaces()
                guard keys.count <= 16 else { throw fail("the key has too many parts") }
                if peek == UInt8(ascii: ".") { index += 1; continue }
                guard peek == terminator else { throw fail("expected '\(Character(Unicode.Scalar(terminator)))' after the key \(keys.joined(separator: "."))") }
                return keys
            }
        }

        func isBareKey(_ b: UInt8) -> Bool {
            (b >= 0x41 && b <= 0x5A) || (b >= 0x61 && b <= 0x7A) || (b >= 0x30 && b <= 0x39) || b == UInt8(ascii: "_") || b == UInt8(ascii: "-")
        }

        /// How deep arrays and inline tables may nest (a manifest needs two).
        var depth = 0

        mutating func value() throws(ScheduleError) -> Located {
            let at = line
            depth += 1
            defer { depth -= 1 }
            guard depth <= 16 else { throw fail("values nest too deep") }
            guard let byte = peek else { throw fail("a value is missing") }
            switch byte {
            case UInt8(ascii: "\""):
                if bytes[index...].starts(with: "\"\"\"".utf8) { throw fail("multi-line strings are not used in a task manifest") }
                return Located(value: .string(try basicString()), line: at)
            case UInt8(ascii: "'"):
                if bytes[index...].starts(with: "'''".utf8) { throw fail("multi-line strings are not used in a task manifest") }
                index += 1
                let start = index
                while let b = peek, b != UInt8(ascii: "'"), b != 0x0A { index += 1 }
                guard peek == UInt8(ascii: "'") else { throw fail("the string is not closed on its line") }
                defer { index += 1 }
                return Located(value: .string(String(decoding: bytes[start..<index], as: UTF8.self)), line: at)
            case UInt8(ascii: "["):
                index += 1
                var items: [Located] = []
                while true {
                    skipBlank()
                    if peek == UInt8(ascii: "]") { index += 1; return Located(value: .array(items), line: at) }
                    items.append(try value())
                    skipBlank()
                    if peek == UInt8(ascii: ",") { index += 1; continue }
                    guard peek == UInt8(ascii: "]") else { throw fail("expected ',' or ']' in the array") }
                }
            case UInt8(ascii: "{"):
                index += 1
                var table: [String: Located] = [:]
                skipSpaces()
                if peek == UInt8(ascii: "}") { index += 1; return Located(value: .table(table), line: at) }
                while true {
                    let keys = try keyPath(until: UInt8(ascii: "="))
                    guard keys.count == 1 else { throw fail("dotted keys are not used in a task manifest") }
                    index += 1
                    skipSpaces()
                    guard table[keys[0]] == nil else { throw fail("\(keys[0]) is set twice") }
                    table[keys[0]] = try value()
                    skipSpaces()
                    if peek == UInt8(ascii: ",") { index += 1; continue }
                    guard peek == UInt8(ascii: "}") else { throw fail("expected ',' or '}' in the inline table (it must fit on one line)") }
                    index += 1
                    return Located(value: .table(table), line: at)
                }
            default:
                let start = index
                while let b = peek, !(b == 0x20 || b == 0x09 || b == 0x0A || b == 0x0D || b == UInt8(ascii: ",") || b == UInt8(ascii: "]")
                                      || b == UInt8(ascii: "}") || b == UInt8(ascii: "#")) { index += 1 }
                let word = String(decoding: bytes[start..<index], as: UTF8.self)
                if word == "true" { return Located(value: .bool(true), line: at) }
                if word == "false" { return Located(value: .bool(false), line: at) }
                let digits = word.filter { $0 != "_" }
                if let number = Int(digits), !word.hasPrefix("_"), !word.hasSuffix("_"), !word.contains("__") {
                    return Located(value: .integer(number), line: at)
                }
                if word.isEmpty { throw fail("a value is missing") }
                throw fail("'\(word)' is not a value a task manifest takes (text goes in quotes: \"\(word)\")")
            }
        }

        mutating func basicString() throws(ScheduleError) -> String {
            index += 1
            var out: [UInt8] = []
            while let b = peek {
                index += 1
                switch b {
                case UInt8(ascii: "\""):
                    return String(decoding: out, as: UTF8.self)
                case 0x0A:
                    throw fail("the string is not closed on its line")
                case UInt8(ascii: "\\"):
                    guard let e = peek else { throw fail("the string ends in a lone \\") }
                    index += 1
                    switch e {
                    case UInt8(ascii: "\""), UInt8(ascii: "\\"): out.append(e)
                    case UInt8(ascii: "n"): out.append(0x0A)
                    case UInt8(ascii: "t"): out.append(0x09)
                    case UInt8(ascii: "r"): out.append(0x0D)
                    case UInt8(ascii: "u"), UInt8(ascii: "U"):
                        let count = e == UInt8(ascii: "u") ? 4 : 8
                        guard index + count <= bytes.count, let code = UInt32(String(decoding: bytes[index..<index + count], as: UTF8.self), radix: 16),
                              let scalar = Unicode.Scalar(code) else { throw fail("a \\u escape needs \(count) hex digits of a character") }
                        index += count
                        out += Array(String(Character(scalar)).utf8)
                    default:
                        throw fail("\\\(Character(Unicode.Scalar(e))) is not an escape TOML knows")
                    }
                default:
                    out.append(b)
                }
            }
            throw fail("the string is not closed")
        }
    }
}
