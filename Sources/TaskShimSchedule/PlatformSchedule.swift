/// A schedule written the way one platform reads it, for the packager's manifests.
public struct PlatformSchedule: Sendable, Equatable {
    /// The platforms a schedule can be written for.
    public enum Platform: String, Sendable, CaseIterable {
        /// An EventBridge rule: `cron(...)` (6 fields, `?`, weekdays 1-7 from Sunday) or `rate(...)`, in UTC.
        case eventBridge = "eventbridge"
        /// EventBridge Scheduler: the same expressions with `ScheduleExpressionTimezone`.
        case eventBridgeScheduler = "eventbridge-scheduler"
        /// Cloud Scheduler: unix-cron, 5 fields, with a `timeZone`.
        case cloudScheduler = "cloud-scheduler"
        /// A Kubernetes CronJob: 5 fields, with `spec.timeZone`.
        case kubernetes
        /// A crontab line, with a `CRON_TZ=` line for another zone than UTC (cronie, systemd-cron).
        case crontab
        /// systemd timer `OnCalendar=` lines (several when cron's either-day rule needs them).
        case systemd
    }

    public var platform: Platform
    /// The expression(s): one for every platform but systemd, which may need one line per day rule.
    public var expressions: [String]
    /// The time zone to give beside the expression (nil where the expression carries it or is UTC-only).
    public var timeZone: String?
    /// Something the platform does differently that the user should know.
    public var note: String?
}
