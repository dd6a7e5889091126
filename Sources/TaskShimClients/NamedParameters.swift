import TaskShimCore

/// Finds the `:name` placeholders in a SQL text, skipping string literals, quoted identifiers,
/// comments, dollar-quoted bodies and `::` casts, and rewrites them to Postgres's `$n`.
public struct NamedParameters: Sendable, Equatable {
    /// The placeholder names in order of first appearance; `$1` is `names[0]`.
    public var names: [String]
    /// The SQL with `$n` in place of each `:name`, padded with spaces to the original length where it
    /// fits so that error positions the server reports still point into the user's file.
    public var positionalSQL: String

    public init(parsing sql: String) {
        var names: [String] = []
        var out = ""
        let chars = Array(sql.unicodeScalars)
        var i = 0
        func isIdentStart(_ c: Unicode.Scalar) -> Bool { c == "_" || c.properties.isAlphabetic }
        func isIdent(_ c: Unicode.Scalar) -> Bool { isIdentStart(c) || ("0"..."9").contains(c) }
        func copy(until end: Int) {
            out.unicodeScalars.append(contentsOf: chars[i..<min(end, chars.count)])
            i = min(end, chars.count)
        }
        while i < chars.count {
            let c = chars[i]
            let next: Unicode.Scalar? = i + 1 < chars.count ? chars[i + 1] : nil
            switch c {
            case "'", "\"":
                var j = i + 1
                while j < chars.count {
                    if chars[j] == c {
                        if j + 1 < chars.count && chars[j + 1] == c { j += 2; continue }  // doubled quote
                        break
                    }
                    j += 1
                }
                copy(until: j + 1)
            case "-" where next == "-":
                var j = i
                while j < chars.count && chars[j] != "\n" { j += 1 }
                copy(until: j)
            case "/" where next == "*":
                var j = i + 2
                var depth = 1
                while j < chars.count && depth > 0 {
                    if chars[j] == "/" && j + 1 < chars.count && chars[j + 1] == "*" { depth += 1; j += 2; continue }
                    if chars[j] == "*" && j + 1 < chars.count && chars[j + 1] == "/" { depth -= 1; j += 2; continue }
                    j += 1
                }
                copy(until: j)
            case "$":
                // Dollar quoting: $$...$$ or $tag$...$tag$.
                var j = i + 1
                while j < chars.count && chars[j] != "$" && isIdent(chars[j]) { j += 1 }
                if j < chars.count && chars[j] == "$" && (j == i + 1 || isIdentStart(chars[i + 1])) {
                    let tag = Array(chars[i...j])
                    var k = j + 1
                    var end = chars.count
                    while k + tag.count <= chars.count {
                        if Array(chars[k..<(k + tag.count)]) == tag { end = k + tag.count; break }
                        k += 1
                    }
                    copy(until: end)
                } else {
                    copy(until: i + 1)
                }
            case ":" where next == ":":
                copy(until: i + 2)
            case ":" where next.map(isIdentStart) ?? false:
                var j = i + 1
                while j < chars.count && isIdent(chars[j]) { j += 1 }
                let name = String(String.UnicodeScalarView(chars[(i + 1)..<j]))
                let number: Int
                if let existing = names.firstIndex(of: name) {
                    number = existing + 1
                } else {
                    names.append(name)
                    number = names.count
                }
                let replacement = "$\(number)"
                out += replacement
                let width = j - i
                if replacement.count < width { out += String(repeating: " ", count: width - replacement.count) }
                i = j
            default:
                out.unicodeScalars.append(c)
                i += 1
            }
        }
        self.names = names
        self.positionalSQL = out
    }

    /// The values for `$1...$n`, in order. Throws naming the first placeholder with no value.
    public func values(from parameters: [String: SQLValue]) throws(TaskShimError) -> [SQLValue] {
        try names.map { name throws(TaskShimError) in
            guard let value = parameters[name] else {
                let known = parameters.keys.sorted().map { ":" + $0 }.joined(separator: ", ")
                throw .data("The SQL uses the placeholder :\(name), which has no value.",
                            hint: "Available placeholders: \(known.isEmpty ? "none" : known).")
            }
            return value
        }
    }
}

/// Line and column (1-based) of a 1-based character position in `text`, for error messages.
public func lineAndColumn(of position: Int, in text: String) -> (line: Int, column: Int) {
    var line = 1
    var column = 1
    for (index, scalar) in text.unicodeScalars.enumerated() {
        if index + 1 >= position { break }
        if scalar == "\n" { line += 1; column = 1 } else { column += 1 }
    }
    return (line, column)
}
