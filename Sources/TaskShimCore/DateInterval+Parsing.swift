import FoundationEssentials

extension DateInterval {
    /// An explicit data window from two RFC 3339 strings: both or neither, start strictly before end.
    /// `names` are what the user wrote them as (flags by default, or event fields) and `status` the
    /// exit code of a bad value (usage for flags, data error for event fields).
    public static func parsing(start: String?, end: String?, names: (start: String, end: String) = ("--start", "--end"),
                               status: ExitStatus = .usage) throws(TaskShimError) -> DateInterval? {
        switch (start, end) {
        case (nil, nil):
            return nil
        case (let start?, let end?):
            guard let from = Timestamp.parse(start) else {
                throw TaskShimError(status, "\(names.start) '\(start)' is not a date-time.", hint: "Use RFC 3339, for example 2026-11-22T08:00:00Z.")
            }
            guard let to = Timestamp.parse(end) else {
                throw TaskShimError(status, "\(names.end) '\(end)' is not a date-time.", hint: "Use RFC 3339, for example 2026-11-22T09:00:00Z.")
            }
            guard from < to else {
                throw TaskShimError(status, "\(names.start) \(start) is not before \(names.end) \(end).", hint: "Swap them or widen the window.")
            }
            return DateInterval(start: from, end: to)
        default:
            throw TaskShimError(status, "\(names.start) and \(names.end) go together.", hint: "Give both, or neither for the default window.")
        }
    }
}
