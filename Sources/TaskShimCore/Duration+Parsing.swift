extension Duration {
    /// A duration written as a person would on a command line: `90` or `90s`, `500ms`, `15m`, `12h`,
    /// `7d`, `2w`; nil for anything else (negative, empty, an unknown unit).
    public init?(parsing text: String) {
        let trimmed = text.trimmed.lowercased()
        let digits = trimmed.prefix { $0.isNumber || $0 == "." }
        guard !digits.isEmpty, let value = Double(digits), value.isFinite, value >= 0 else { return nil }
        let unit: Double? = switch trimmed.dropFirst(digits.count) {
        case "", "s", "sec", "secs", "second", "seconds": 1
        case "ms": 0.001
        case "m", "min", "mins", "minute", "minutes": 60
        case "h", "hour", "hours": 3600
        case "d", "day", "days": 86_400
        case "w", "week", "weeks": 604_800
        default: nil
        }
        guard let unit, value * unit < 1e12 else { return nil }
        self = .milliseconds(Int64((value * unit * 1000).rounded()))
    }
}
