import FoundationEssentials

/// systemd calendar specs (systemd.time(7)) as the seeds wrote schedules: `Mon-Fri 09:00`,
/// `*-*-* *:30:00`, `Sat,Sun 10:15`, `*-*-01 03:00`, `daily`, `hourly`. Read into a
/// ``CronExpression`` whose weekday and date must both match, as in systemd.
enum CalendarSpec {
    static let shorthands: [String: String] = [
        "minutely": "*-*-* *:*:00", "hourly": "*-*-* *:00:00", "daily": "*-*-* 00:00:00", "weekly": "Mon *-*-* 00:00:00",
        "monthly": "*-*-01 00:00:00", "yearly": "*-01-01 00:00:00", "annually": "*-01-01 00:00:00",
        "quarterly": "*-01,04,07,10-01 00:00:00", "semiannually": "*-01,07-01 00:00:00", "semi-annually": "*-01,07-01 00:00:00",
        "biannually": "*-01,07-01 00:00:00", "bi-annually": "*-01,07-01 00:00:00",
    ]

    static func parse(_ text: String) throws(ScheduleError) -> CronExpression {
        let spec = shorthands[text.lowercased()] ?? text
        var tokens = spec.split(whereSeparator: { $0 == " " || $0 == "\t" }).map(String.init)
        guard !tokens.isEmpty else { throw ScheduleError("The schedule is empty.") }
        var expression = CronExpression()
        expression.source = text
        expression.hasSeconds = true
        expression.dayMatching = .both
        expression.daysOfWeek = CronExpression.bits(0...6)
        if let first = tokens.first, first.first?.isLetter == true {
            expression.daysOfWeek = try weekdays(first, in: text)
            tokens.removeFirst()
        }
        var date = "*-*-*", time = "00:00:00"
        if let last = tokens.last, tokens.count > 1, last.contains("/") && last.first?.isLetter == true || last == "UTC" {
            throw ScheduleError("'\(text)' ends with a time zone (\(last)).",
                                hint: "Give the zone on its own: --time-zone \(last) (time_zone in a manifest).")
        }
        for token in tokens {
            if token.contains(":") {
                time = token
            } else if token.contains("-") || token == "*" {
                date = token
            } else {
                throw ScheduleError("'\(token)' in '\(text)' is neither a date (Y-M-D) nor a time (H:M[:S]).", hint: examples)
            }
        }
        guard tokens.count <= 2 else { throw ScheduleError("'\(text)' has more parts than weekday, date and time.", hint: examples) }
        let dateParts = date.split(separator: "-", omittingEmptySubsequences: false).map(String.init)
        guard dateParts.count == 2 || dateParts.count == 3 else {
            throw ScheduleError("'\(date)' in '\(text)' is not a date: write Y-M-D or M-D, each part a number, list, range (a..b), step (/n) or *.", hint: examples)
        }
        if dateParts.count == 3, dateParts[0] != "*" {
            throw ScheduleError("'\(text)' names a year; schedules repeat every year.", hint: "Write * for the year, e.g. *-12-24 18:00.")
        }
        if dateParts.contains(where: { $0.contains("~") }) {
            throw ScheduleError("'\(text)' counts days from the month's end (~), which is not supported.", hint: "Use a cron expression with L (e.g. '0 0 L * *').")
        }
        expression.months = try component(dateParts[dateParts.count - 2], name: "month", range: 1...12, in: text)
        expression.daysOfMonth = try component(dateParts[dateParts.count - 1], name: "day", range: 1...31, in: text)
        let timeParts = time.split(separator: ":", omittingEmptySubsequences: false).map(String.init)
        guard timeParts.count == 2 || timeParts.count == 3 else {
            throw ScheduleError("'\(time)' in '\(text)' is not a time: write H:M or H:M:S.", hint: examples)
        }
        expression.hours = try component(timeParts[0], name: "hour", range: 0...23, in: text)
        expression.minutes = try component(timeParts[1], name: "minute", range: 0...59, in: text)
        expression.seconds = timeParts.count == 3 ? try component(timeParts[2], name: "second", range: 0...59, in: text) : 1
        try expression.checkSomeDayExists(text)
        return expression
    }

    static let examples = "For example 'Mon-Fri 09:00', 'Sat,Sun 10:15', '*-*-* *:30:00', '*-*-01 03:00', 'daily' or a cron expression."

    /// `Mon`, `Mon-Fri`, `Mon..Fri`, `Sat,Sun`, in any case, full names too.
    static func weekdays(_ token: String, in text: String) throws(ScheduleError) -> UInt64 {
        func day(_ name: Substring) throws(ScheduleError) -> Int {
            let prefix = String(name.prefix(3)).uppercased()
            guard name.count >= 3, let index = CronExpression.weekdayNames.firstIndex(of: prefix),
                  name.count == 3 || ["MONDAY", "TUESDAY", "WEDNESDAY", "THURSDAY", "FRIDAY", "SATURDAY", "SUNDAY"].contains(name.uppercased()) else {
                throw ScheduleError("'\(name)' in '\(text)' is not a weekday.", hint: "Write Mon, Tue, Wed, Thu, Fri, Sat or Sun, ranges such as Mon-Fri and lists such as Sat,Sun.")
            }
            return index
        }
        var set: UInt64 = 0
        for part in token.split(separator: ",") {
            let bounds = part.contains("..") ? part.split(separator: ".", omittingEmptySubsequences: true) : part.split(separator: "-")
            guard bounds.count == 1 || bounds.count == 2 else { throw ScheduleError("'\(part)' in '\(text)' is not a weekday range.") }
            let first = try day(bounds[0])
            let last = bounds.count == 2 ? try day(bounds[1]) : first
            // systemd weeks run Monday to Sunday; a range may not wrap past Sunday (Fri..Mon is an error there).
            guard (first + 6) % 7 <= (last + 6) % 7 else {
                throw ScheduleError("'\(part)' in '\(text)' runs backwards: weeks run from Monday to Sunday.", hint: "Write Fri..Sun,Mon instead of Fri..Mon.")
            }
            var d = first
            while true {
                set |= 1 << UInt64(d)
                if d == last { break }
                d = (d + 1) % 7
            }
        }
        return set
    }

    /// A date or time component as systemd reads one: `*`, a number, `a..b`, `a/n`, `a..b/n`, and lists
    /// of these (`*` takes no step: write `0/15`; ranges use `..`, not `-`).
    static func component(_ text: String, name: String, range: ClosedRange<Int>, in spec: String) throws(ScheduleError) -> UInt64 {
        func fail(_ why: String) -> ScheduleError {
            ScheduleError("'\(text)' in '\(spec)' is not a \(name): \(why).",
                          hint: "A \(name) is *, a number from \(range.lowerBound) to \(range.upperBound), a..b, a/n, a..b/n or a list of these. " + examples)
        }
        if text == "*" { return CronExpression.bits(range) }
        var set: UInt64 = 0
        for item in text.split(separator: ",", omittingEmptySubsequences: false) {
            let parts = item.split(separator: "/", omittingEmptySubsequences: false)
            guard parts.count <= 2, !parts[0].isEmpty else { throw fail("'\(item)' is not a value") }
            guard parts[0] != "*" else { throw fail("* takes no step; write \(range.lowerBound)/n") }
            guard !parts[0].contains("-") else { throw fail("ranges are written a..b") }
            let bounds = parts[0].components(separatedBy: "..")
            guard bounds.count <= 2, let low = Int(bounds[0]), range.contains(low) else { throw fail("'\(parts[0])' is out of range") }
            var high = low
            if bounds.count == 2 {
                guard let value = Int(bounds[1]), range.contains(value), value >= low else { throw fail("'\(parts[0])' is not a range within \(range.lowerBound)..\(range.upperBound)") }
                high = value
            }
            var step = 1
            if parts.count == 2 {
                guard let n = Int(parts[1]), n >= 1 else { throw fail("'\(parts[1])' is not a step") }
                step = n
                if bounds.count == 1 { high = range.upperBound }
            }
            for value in stride(from: low, through: high, by: step) { set |= 1 << UInt64(value) }
        }
        return set
    }
}
