import FoundationEssentials

/// The process environment, read through typed accessors whose errors name the variable to fix.
public struct Environment: Sendable {
    public var values: [String: String]
    /// Variables whose values came from a secrets provider: redacted whatever their names.
    public var secretNames: Set<String> = []

    public init(_ values: [String: String] = ProcessInfo.processInfo.environment) {
        self.values = values
    }

    /// The value, or nil when unset or empty.
    public subscript(_ name: String) -> String? {
        guard let value = values[name], !value.isEmpty else { return nil }
        return value
    }

    /// An integer variable within `range`, or `defaultValue` when unset.
    public func int(_ name: String, default defaultValue: Int, in range: ClosedRange<Int>) throws(TaskShimError) -> Int {
        guard let raw = self[name] else { return defaultValue }
        guard let value = Int(raw.trimmed), range.contains(value) else {
            throw .configuration("\(name)=\(raw) is not a whole number from \(range.lowerBound) to \(range.upperBound).",
                                 hint: "Set it to such a number or unset it to use the default (\(defaultValue)).")
        }
        return value
    }

    /// A decimal variable within `range`, or `defaultValue` when unset.
    public func double(_ name: String, default defaultValue: Double, in range: ClosedRange<Double>) throws(TaskShimError) -> Double {
        guard let raw = self[name] else { return defaultValue }
        guard let value = Double(raw.trimmed), range.contains(value) else {
            throw .configuration("\(name)=\(raw) is not a number from \(range.lowerBound) to \(range.upperBound).",
                                 hint: "Set it to such a number or unset it to use the default (\(defaultValue)).")
        }
        return value
    }

    /// A boolean variable (`1/true/yes/on` or `0/false/no/off`), or `defaultValue` when unset.
    public func bool(_ name: String, default defaultValue: Bool) throws(TaskShimError) -> Bool {
        guard let raw = self[name] else { return defaultValue }
        switch raw.lowercased() {
        case "1", "true", "yes", "on": return true
        case "0", "false", "no", "off": return false
        default:
            throw .configuration("\(name)=\(raw) is not a boolean.", hint: "Use true or false.")
        }
    }
}
