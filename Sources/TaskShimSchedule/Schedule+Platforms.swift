extension Schedule {
    /// The schedule written for `platform` in `zone`; an error saying why and what would work when the
    /// platform cannot express it exactly.
    public func written(for platform: PlatformSchedule.Platform, in zone: ScheduleTimeZone) throws(ScheduleError) -> PlatformSchedule {
        let name = platform.rawValue
        switch self {
        case .rate(let seconds):
            return try Self.rate(seconds, for: platform, in: zone)
        case .cron(let cron):
            if platform == .systemd { return try cron.systemd(in: zone) }
            guard cron.seconds == 1 else {
                throw ScheduleError("\(name) schedules have no seconds field, and '\(cron.source)' runs at second(s) \(CronExpression.render(cron.seconds, range: 0...59)).",
                                    hint: "Run at whole minutes, or use a systemd timer, or runtime schedule.")
            }
            if cron.dayMatching == .both, cron.dayOfMonthField != "*", cron.dayOfWeekField != "*" {
                throw ScheduleError("'\(cron.source)' runs on days matching both a date and a weekday, which cron forms cannot say (cron runs on either).",
                                    hint: "Restrict only one of them, or use a systemd timer or runtime schedule.")
            }
            switch platform {
            case .eventBridge, .eventBridgeScheduler:
                if platform == .eventBridge, zone != .utc {
                    throw ScheduleError("EventBridge rules run in UTC, and this schedule is in \(zone.identifier).",
                                        hint: "Use EventBridge Scheduler (it takes a time zone), or write the schedule in UTC.")
                }
                return PlatformSchedule(platform: platform, expressions: ["cron(\(try cron.eventBridge()))"],
                                        timeZone: platform == .eventBridgeScheduler ? zone.identifier : nil, note: nil)
            case .cloudScheduler, .kubernetes, .crontab:
                guard cron.plainDaysOfMonth, cron.plainDaysOfWeek else {
                    throw ScheduleError("\(name) reads unix-cron, which has no L, W or #, and '\(cron.source)' uses them.",
                                        hint: "Use EventBridge, a systemd timer (L only) or runtime schedule, or list the days.")
                }
                let fields = cron.unixFields
                if platform == .crontab {
                    return PlatformSchedule(platform: platform, expressions: [fields], timeZone: zone == .utc ? nil : zone.identifier,
                                            note: zone == .utc ? nil : "CRON_TZ= needs cronie or systemd-cron; Vixie cron uses the host's zone.")
                }
                return PlatformSchedule(platform: platform, expressions: [fields], timeZone: zone.identifier,
                                        note: platform == .kubernetes ? "spec.timeZone needs Kubernetes 1.27 or newer." : nil)
            case .systemd:
                fatalError("handled above")
            }
        }
    }

    private static func rate(_ seconds: Int64, for platform: PlatformSchedule.Platform, in zone: ScheduleTimeZone) throws(ScheduleError) -> PlatformSchedule {
        switch platform {
        case .eventBridge, .eventBridgeScheduler:
            guard seconds % 60 == 0 else {
                throw ScheduleError("EventBridge rates are whole minutes, and this one is \(seconds) s.", hint: "Use a rate of minutes, hours or days.")
            }
            let (n, unit): (Int64, String) = seconds % 86400 == 0 ? (seconds / 86400, "day") : seconds % 3600 == 0 ? (seconds / 3600, "hour") : (seconds / 60, "minute")
            return PlatformSchedule(platform: platform, expressions: ["rate(\(n) \(unit)\(n == 1 ? "" : "s"))"],
                                    timeZone: platform == .eventBridgeScheduler ? zone.identifier : nil,
                                    note: "EventBridge counts a rate from when the rule is created, not from 1970: the minutes may differ.")
        case .systemd:
            let cron = try rateAsCron(seconds, platform: platform)
            return try cron.systemd(in: .utc)
        case .cloudScheduler, .kubernetes, .crontab:
            let cron = try rateAsCron(seconds, platform: platform)
            return PlatformSchedule(platform: platform, expressions: [cron.unixFields], timeZone: platform == .crontab ? nil : "UTC", note: nil)
        }
    }

    /// A rate as cron, when it divides an hour or a day evenly (so the times are the same).
    private static func rateAsCron(_ seconds: Int64, platform: PlatformSchedule.Platform) throws(ScheduleError) -> CronExpression {
        let text: String
        if seconds % 60 == 0, 3600 % seconds == 0 {
            text = seconds == 60 ? "* * * * *" : "*/\(seconds / 60) * * * *"
        } else if seconds % 3600 == 0, 86400 % seconds == 0 {
            text = seconds == 3600 ? "0 * * * *" : "0 */\(seconds / 3600) * * *"
        } else if seconds == 86400 {
            text = "0 0 * * *"
        } else {
            throw ScheduleError("\(platform.rawValue) has no rates, and a rate of \(seconds) s does not divide an hour or a day, so no cron expression runs at the same times.",
                                hint: "Use a rate that divides an hour (e.g. 15 minutes) or a day (e.g. 6 hours), or runtime schedule.")
        }
        return try CronExpression(parsing: text)
    }
}

extension CronExpression {
    /// Five unix-cron fields; the day fields as written in either-day form.
    var unixFields: String {
        [Self.render(minutes, range: 0...59), Self.render(hours, range: 0...23), eitherDayField(dayOfMonthField, range: 1...31),
         Self.render(months, range: 1...12), eitherDayField(dayOfWeekField, range: 0...6)].joined(separator: " ")
    }

    /// With both day fields restricted (cron's either rule), a field must not start with `*`, which
    /// would switch the rule: `*/2` is written `1-31/2`.
    private func eitherDayField(_ field: String, range: ClosedRange<Int>) -> String {
        guard dayMatching == .either, field.hasPrefix("*/") else { return field }
        return "\(range.lowerBound)-\(range.upperBound)" + field.dropFirst()
    }

    /// EventBridge's 6 fields: minutes hours day-of-month month day-of-week year, one day field `?`,
    /// weekdays 1-7 from Sunday.
    func eventBridge() throws(ScheduleError) -> String {
        let dom = dayOfMonthField, dow = dayOfWeekField
        if dom != "*", dow != "*" {
            throw ScheduleError("'\(source)' runs on a day-of-month or a weekday, and EventBridge takes only one of the two.",
                                hint: "Make two rules, one with each, or use runtime schedule.")
        }
        // EventBridge takes L, nW, dL and d#k each alone in its field; not L-n or LW.
        let specialDays = lastDayOffsets.count + nearestWeekdays.count + (lastWeekday ? 1 : 0)
        let specialWeekdays = nthWeekdays.count + lastOfWeekdays.count
        guard lastDayOffsets.isSubset(of: [0]), !lastWeekday,
              specialDays == 0 || (specialDays == 1 && daysOfMonth == 0), specialWeekdays == 0 || (specialWeekdays == 1 && daysOfWeek == 0) else {
            throw ScheduleError("'\(source)' uses L-n or LW, or combines L, W or # with other days, which EventBridge does not take.",
                                hint: "Write one such day per rule (L, 15W, 6L or 6#3), or use runtime schedule.")
        }
        let dayOfMonth: String
        let dayOfWeek: String
        if dow != "*" {
            dayOfMonth = "?"
            var items: [String] = []
            if daysOfWeek != 0 { items.append(Self.render(daysOfWeek << 1, range: 1...7)) }
            items += lastOfWeekdays.map { "\($0 + 1)L" }
            items += nthWeekdays.map { "\($0 / 10 + 1)#\($0 % 10)" }
            dayOfWeek = items.joined(separator: ",")
        } else {
            dayOfMonth = dom
            dayOfWeek = "?"
        }
        return [Self.render(minutes, range: 0...59), Self.render(hours, range: 0...23), dayOfMonth, Self.render(months, range: 1...12), dayOfWeek, "*"]
            .joined(separator: " ")
    }

    /// systemd `OnCalendar=` lines in `zone`: one, or two when cron's either-day rule needs a line for
    /// the dates and one for the weekdays.
    func systemd(in zone: ScheduleTimeZone) throws(ScheduleError) -> PlatformSchedule {
        // systemd counts days from the month's end with ~ (`*-*~01` is the last day): L and L-n alone.
        let fromEnd = lastDayOffsets.count == 1 && daysOfMonth == 0 && !everyDayEither ? lastDayOffsets.first : nil
        guard nearestWeekdays.isEmpty, !lastWeekday, plainDaysOfWeek, lastDayOffsets.isEmpty || fromEnd != nil else {
            throw ScheduleError("'\(source)' uses W, LW, nL, # or L with other days, which systemd calendar specs cannot say.",
                                hint: "List the days, or use runtime schedule.")
        }
        let time = [Self.systemdRender(hours, range: 0...23), Self.systemdRender(minutes, range: 0...59), Self.systemdRender(seconds, range: 0...59)]
            .joined(separator: ":")
        let month = Self.systemdRender(months, range: 1...12)
        let suffix = zone == .utc ? " UTC" : " " + zone.identifier
        let weekdays = everyDayEither ? nil : Self.systemdWeekdays(daysOfWeek)
        let dom = everyDayEither || daysOfMonth == Self.bits(1...31) ? "*" : Self.systemdRender(daysOfMonth, range: 1...31)
        let date = fromEnd.map { "*-\(month)~" + ($0 < 9 ? "0" : "") + "\($0 + 1)" } ?? "*-\(month)-\(dom)"
        var lines: [String] = []
        if dayMatching == .either, dom != "*" || fromEnd != nil, weekdays != nil {
            lines = ["\(date) \(time)\(suffix)", "\(weekdays!) *-\(month)-* \(time)\(suffix)"]
        } else {
            lines = [(weekdays.map { $0 + " " } ?? "") + "\(date) \(time)\(suffix)"]
        }
        return PlatformSchedule(platform: .systemd, expressions: lines, timeZone: nil,
                                note: lines.count > 1 ? "Two OnCalendar= lines in one timer: systemd runs when either matches." : nil)
    }

    /// `*`, `a..b`, `a/n`, lists: systemd's syntax for one component, two digits each.
    static func systemdRender(_ set: UInt64, range: ClosedRange<Int>) -> String {
        let cron = render(set, range: range)
        func two(_ text: Substring) -> String { text.count == 1 ? "0" + text : String(text) }
        if cron == "*" { return "*" }
        if cron.hasPrefix("*/") { return two("\(range.lowerBound)"[...]) + "/" + cron.dropFirst(2) }
        return cron.split(separator: ",").map { item -> String in
            let step = item.split(separator: "/")
            let bounds = step[0].split(separator: "-").map(two).joined(separator: "..")
            return step.count == 2 ? bounds + "/" + step[1] : bounds
        }.joined(separator: ",")
    }

    /// `Mon..Fri`, `Sat,Sun`; nil for every day.
    static func systemdWeekdays(_ set: UInt64) -> String? {
        guard set != 0, set != bits(0...6) else { return nil }
        let names = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"]
        // systemd weeks run Monday to Sunday: render Mon..Sun as 1..7.
        let shifted = (1...7).filter { set & 1 << UInt64($0 % 7) != 0 }
        var items: [String] = []
        var index = 0
        while index < shifted.count {
            var end = index
            while end + 1 < shifted.count, shifted[end + 1] == shifted[end] + 1 { end += 1 }
            let first = names[shifted[index] % 7], last = names[shifted[end] % 7]
            items.append(end > index ? "\(first)..\(last)" : first)
            index = end + 1
        }
        return items.joined(separator: ",")
    }
}
