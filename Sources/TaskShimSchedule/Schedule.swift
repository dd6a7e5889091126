import FoundationEssentials

/// When a task runs: a cron expression, a systemd-style calendar spec (converted to the same form),
/// or a fixed rate. Parsed from the one string a manifest or the command line gives.
public enum Schedule: Sendable, Equatable {
    case cron(CronExpression)
    /// Every so many seconds, at the multiples of the interval since 1970-01-01T00:00:00Z, so every
    /// replica and every restart agrees on the times.
    case rate(seconds: Int64)

    /// `rate(5 minutes)`, `@hourly`, a 5- or 6-field cron expression, or a calendar spec such as
    /// `Mon-Fri 09:00`, `*-*-* *:30:00` or `daily`.
    public init(parsing text: String) throws(ScheduleError) {
        let trimmed = text.trimmingSpaces
        if trimmed.lowercased().hasPrefix("rate(") {
            self = .rate(seconds: try Self.rate(trimmed))
        } else if trimmed.hasPrefix("@") || Self.looksLikeCron(trimmed) {
            self = .cron(try CronExpression(parsing: trimmed))
        } else {
            self = .cron(try CalendarSpec.parse(trimmed))
        }
    }

    /// The longest rate.
    static let maximumRate: Int64 = 10 * 366 * 86400
    /// The last second a fire time may be (9999-12-31T23:59:59Z): later years have no RFC 3339 form.
    static let lastInstant: Int64 = 253_402_300_799

    /// Cron unless it reads as a calendar spec: a weekday or shorthand word first, a time (`:`), `..`,
    /// `~`, or a lone date (`*-*-01`). So a cron expression with a field too few is told so.
    static func looksLikeCron(_ text: String) -> Bool {
        let tokens = text.split(whereSeparator: { $0 == " " || $0 == "\t" })
        guard let first = tokens.first else { return false }
        if first.first?.isLetter == true || text.contains(":") || text.contains("..") || text.contains("~") { return false }
        return !(tokens.count == 1 && first.contains("-"))
    }

    static func rate(_ text: String) throws(ScheduleError) -> Int64 {
        let inner = text.dropFirst(5).dropLast(text.hasSuffix(")") ? 1 : 0).split(separator: " ")
        let units: [String: Int64] = ["second": 1, "seconds": 1, "minute": 60, "minutes": 60, "hour": 3600, "hours": 3600, "day": 86400, "days": 86400]
        guard text.hasSuffix(")"), inner.count == 2, let n = Int64(inner[0]), n > 0, let unit = units[inner[1].lowercased()] else {
            throw ScheduleError("'\(text)' is not a rate.", hint: "Write rate(N unit) with a unit of seconds, minutes, hours or days, e.g. rate(5 minutes).")
        }
        let (seconds, overflow) = n.multipliedReportingOverflow(by: unit)
        guard !overflow, seconds <= maximumRate else {
            throw ScheduleError("'\(text)' is longer than 10 years.", hint: "Use a cron expression for rare runs, e.g. '0 0 1 1 *' once a year.")
        }
        return seconds
    }

    /// The first run strictly after `instant`, in `zone`. A local time the clocks skip (spring
    /// forward) runs once, at the transition; a local time they repeat (fall back) runs once, at its
    /// first occurrence. Nil when there is none within 50 years.
    public func next(after instant: Date, in zone: ScheduleTimeZone) -> Date? {
        let seconds = Int64(instant.timeIntervalSince1970.rounded(.down))
        let next: Int64?
        switch self {
        case .rate(let interval):
            guard seconds < Self.lastInstant else { return nil }
            next = (floorDivide(seconds, interval) + 1) * interval
        case .cron(let expression):
            next = expression.next(after: seconds, in: zone)
        }
        guard let next, next <= Self.lastInstant else { return nil }
        return Date(timeIntervalSince1970: Double(next))
    }

    /// The next `count` runs after `instant`.
    public func upcoming(_ count: Int, after instant: Date, in zone: ScheduleTimeZone) -> [Date] {
        var times: [Date] = []
        var cursor = instant
        while times.count < count, let next = next(after: cursor, in: zone) {
            times.append(next)
            cursor = next
        }
        return times
    }
}

extension CronExpression {
    /// The first run strictly after `instant` (seconds since 1970), in `zone`.
    func next(after instant: Int64, in zone: ScheduleTimeZone) -> Int64? {
        var local = instant + Int64(zone.offset(at: instant))
        for _ in 0..<10_000 {
            guard let candidate = nextLocal(after: local) else { return nil }
            let instants = zone.instants(forLocal: candidate)
            if let first = instants.first {
                if first > instant { return first }
            } else if let transition = zone.gapTransition(forLocal: candidate), transition > instant {
                return transition
            }
            local = candidate
        }
        return nil
    }

    /// The first local wall-clock time (seconds since 1970 read as UTC) strictly after `local`.
    func nextLocal(after local: Int64) -> Int64? {
        let start = local + 1
        var day = Int(floorDivide(start, 86400))
        var second = Int(start - Int64(day) * 86400)
        let lastDay = day + 366 * 50
        while day <= lastDay {
            let date = CivilDate(days: day)
            if months & 1 << UInt64(date.month) == 0 {
                // Skip to the first day of the next month.
                let next = date.month == 12 ? CivilDate(year: date.year + 1, month: 1, day: 1) : CivilDate(year: date.year, month: date.month + 1, day: 1)
                day = next.days
                second = 0
                continue
            }
            if matches(date), let time = nextTime(fromSecondOfDay: second) {
                return Int64(day) * 86400 + Int64(time)
            }
            day += 1
            second = 0
        }
        return nil
    }
}

extension ScheduleTimeZone {
    /// For a local time the clocks skip, the instant they skip it at (the transition), nil when
    /// `local` is not skipped.
    func gapTransition(forLocal local: Int64) -> Int64? {
        let offsets = [offset(at: local - 86400), offset(at: local + 86400), offset(at: local - 43200), offset(at: local + 43200)]
        guard let low = offsets.min(), let high = offsets.max(), low != high else { return nil }
        let earliest = local - Int64(high), latest = local - Int64(low)
        return nextTransition(after: earliest, within: latest - earliest)
    }
}

extension Schedule {
    /// The schedule in one canonical form: 6-field cron (seconds first) or `rate(N seconds)`.
    public var normalized: String {
        switch self {
        case .cron(let expression): expression.normalized
        case .rate(let seconds): "rate(\(seconds) seconds)"
        }
    }
}
