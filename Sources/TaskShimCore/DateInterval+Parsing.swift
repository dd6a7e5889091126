import Foundation

extension DateInterval {
    /// An explicit data window from two RFC 3339 strings (`--start/--end`, or event fields): both or
    /// neither, start strictly before end. Errors are usage errors naming the bad value.
    public static func parsing(start: String?, end: String?) throws(TaskShimError) -> DateInterval? {
        switch (start, end) {
        case (nil, nil):
            return nil
        case (let start?, let end?):
            guard let from = Timestamp.parse(start) else {
                throw .usage("--start '\(start)' is not a date-time.", hint: "Use RFC 3339, for example 2026-11-22T08:00:00Z.")
            }
            guard let to = Timestamp.parse(end) else {
                throw .usage("--end '\(end)' is not a date-time.", hint: "Use RFC 3339, for example 2026-11-22T09:00:00Z.")
            }
            guard from < to else {
                throw .usage("--start \(start) is not before --end \(end).", hint: "Swap them or widen the window.")
            }
            return DateInterval(start: from, end: to)
        default:
            throw .usage("--start and --end go together.", hint: "Give both, or neither for the default window.")
        }
    }
}
