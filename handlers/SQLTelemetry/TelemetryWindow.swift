import Foundation
import TaskShimCore

/// The data window a run reports on.
public enum TelemetryWindow {
    /// The previous complete hour before `logicalTime`, less `latencyHours`: at 10:37 with a latency of
    /// 1 h the window is 08:00-09:00. An explicit interval wins; it must start before it ends.
    public static func compute(logicalTime: Date, latencyHours: Int, explicit: DateInterval?) -> DateInterval {
        if let explicit { return explicit }
        let shifted = logicalTime.timeIntervalSince1970 - Double(latencyHours) * 3600
        let end = (shifted / 3600).rounded(.down) * 3600
        return DateInterval(start: Date(timeIntervalSince1970: end - 3600), end: Date(timeIntervalSince1970: end))
    }

    /// Parses `--start`/`--end` values; both or neither, start before end.
    public static func explicit(start: String?, end: String?) throws(TaskShimError) -> DateInterval? {
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
            throw .usage("--start and --end go together.", hint: "Give both, or neither for the previous complete hour.")
        }
    }
}
