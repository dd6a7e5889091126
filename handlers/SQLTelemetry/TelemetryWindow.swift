import FoundationEssentials
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
}
