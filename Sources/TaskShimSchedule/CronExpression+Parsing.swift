extension CronExpression {
    static let names: [String: String] = [
        "@yearly": "0 0 1 1 *", "@annually": "0 0 1 1 *", "@monthly": "0 0 1 * *", "@weekly": "0 0 * * 0",
        "@daily": "0 0 * * *", "@midnight": "0 0 * * *", "@hourly": "0 * * * *",
    ]
    static let monthNames = ["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"]
    static let weekdayNames = ["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"]

    /// Parses a cron expression; the error names the field and says what it may hold.
    public init(parsing text: String) throws(ScheduleError) {
        self.init()
        source = text
        let trimmed = text.trimmingSpaces
        if trimmed.hasPrefix("@") {
            guard let expansion = Self.names[trimmed.lowercased()] else {
                throw ScheduleError("'\(trimmed)' is not a cron name.", hint: "Use @yearly, @monthly, @weekly, @daily or @hourly (@reboot has no time to schedule).")
            }
            try parseFields(expansion.split(separator: " ").map(String.init), text: text)
            return
        }
        let fields = trimmed.split(whereSeparator: { $0 == " " || $0 == "\t" }).map(String.init)
        try parseFields(fields, text: text)
    }

    private mutating func parseFields(_ fields: [String], text: String) throws(ScheduleError) {
        guard fields.count == 5 || fields.count == 6 else {
            throw ScheduleError("'\(text)' has \(fields.count) field(s); a cron expression has 5 (minute hour day-of-month month day-of-week) or 6 (seconds first).",
                                hint: "For example '0 9 * * 1-5' (09:00 on weekdays) or '30 0 9 * * *' (09:00:30 daily).")
        }
        hasSeconds = fields.count == 6
        let f = hasSeconds ? fields : ["0"] + fields
        seconds = try Self.field(f[0], name: "seconds", range: 0...59)
        minutes = try Self.field(f[1], name: "minute", range: 0...59)
        hours = try Self.field(f[2], name: "hour", range: 0...23)
        try parseDaysOfMonth(f[3])
        months = try Self.field(f[4], name: "month", range: 1...12, names: Self.monthNames, nameBase: 1)
        try parseDaysOfWeek(f[5])
        // Vixie cron: a field starting with * (or ?) leaves the day to the other one.
        let domStar = f[3].hasPrefix("*") || f[3] == "?"
        let dowStar = f[5].hasPrefix("*") || f[5] == "?"
        dayMatching = domStar || dowStar ? .both : .either
        if domStar, f[3] == "?" { daysOfMonth = Self.bits(1...31) }
        if dowStar, f[5] == "?" { daysOfWeek = Self.bits(0...6) }
        try checkSomeDayExists(text)
    }

    private mutating func parseDaysOfMonth(_ text: String) throws(ScheduleError) {
        if text == "?" { return }
        var plain: [String] = []
        for part in text.split(separator: ",", omittingEmptySubsequences: false).map(String.init) {
            let upper = part.uppercased()
            if upper == "L" {
                lastDayOffsets.insert(0)
            } else if upper == "LW" {
                lastWeekday = true
            } else if upper.hasPrefix("L-"), let n = Int(upper.dropFirst(2)), (0...30).contains(n) {
                lastDayOffsets.insert(n)
            } else if upper.hasSuffix("W"), let n = Int(upper.dropLast()), (1...31).contains(n) {
                nearestWeekdays.insert(n)
            } else {
                plain.append(part)
            }
        }
        if !plain.isEmpty { daysOfMonth = try Self.field(plain.joined(separator: ","), name: "day-of-month", range: 1...31) }
    }

    private mutating func parseDaysOfWeek(_ text: String) throws(ScheduleError) {
        if text == "?" { return }
        var plain: [String] = []
        for part in text.split(separator: ",", omittingEmptySubsequences: false).map(String.init) {
            let upper = part.uppercased()
            if let hash = upper.firstIndex(of: "#") {
                guard let day = Self.weekday(String(upper[..<hash])), let k = Int(upper[upper.index(after: hash)...]), (1...5).contains(k) else {
                    throw ScheduleError("'\(part)' in the day-of-week field is not WEEKDAY#N.", hint: "For example 5#3 or FRI#3 (the third Friday), N from 1 to 5.")
                }
                nthWeekdays.insert(day * 10 + k)
            } else if upper.count > 1, upper.hasSuffix("L"), let day = Self.weekday(String(upper.dropLast())) {
                lastOfWeekdays.insert(day)
            } else {
                plain.append(part)
            }
        }
        if !plain.isEmpty {
            let bits = try Self.field(plain.joined(separator: ","), name: "day-of-week", range: 0...7, names: Self.weekdayNames, nameBase: 0)
            daysOfWeek = (bits & Self.bits(0...6)) | (bits >> 7 & 1)  // 7 is Sunday too
        }
    }

    private static func weekday(_ text: String) -> Int? {
        if let n = Int(text), (0...7).contains(n) { return n % 7 }
        return weekdayNames.firstIndex(of: text)
    }

    /// A restriction no date can meet (`0 0 30 2 *`) would make the schedule never run. 28 years hold
    /// every weekday of every date, Feb 29 included.
    func checkSomeDayExists(_ text: String) throws(ScheduleError) {
        for year in 2024...2051 {
            for month in 1...12 where months & 1 << UInt64(month) != 0 {
                for day in 1...CivilDate.daysIn(month: month, year: year) where matches(CivilDate(year: year, month: month, day: day)) {
                    return
                }
            }
        }
        throw ScheduleError("'\(text)' matches no date: no day has its day-of-month, month and day-of-week together.",
                            hint: "Check the day fields against the months (February has at most 29 days; a fifth weekday is not in every month).")
    }

    /// One field's set of values: `*`, `N`, `N-M`, `*/S`, `N-M/S`, `N/S`, names, and lists of these.
    static func field(_ text: String, name: String, range: ClosedRange<Int>, names: [String] = [], nameBase: Int = 0) throws(ScheduleError) -> UInt64 {
        func value(_ token: Substring) throws(ScheduleError) -> Int {
            if let n = Int(token), range.contains(n) { return n }
            if let index = names.firstIndex(of: token.uppercased()) { return index + nameBase }
            throw ScheduleError("'\(token)' is not a valid \(name) value.",
                                hint: "The \(name) field takes \(range.lowerBound)-\(range.upperBound)\(names.isEmpty ? "" : " or names such as \(names[0])"), *, lists (a,b), ranges (a-b) and steps (*/n, a-b/n).")
        }
        guard !text.isEmpty else { throw ScheduleError("The \(name) field is empty.") }
        var set: UInt64 = 0
        for part in text.split(separator: ",", omittingEmptySubsequences: false) {
            guard !part.isEmpty else { throw ScheduleError("The \(name) field '\(text)' has an empty list item.") }
            let pieces = part.split(separator: "/", omittingEmptySubsequences: false)
            guard pieces.count <= 2 else { throw ScheduleError("'\(part)' in the \(name) field has more than one /.") }
            var step = 1
            if pieces.count == 2 {
                guard let n = Int(pieces[1]), n >= 1, n <= range.upperBound - range.lowerBound + 1 || n <= range.upperBound else {
                    throw ScheduleError("'\(part)' in the \(name) field has no valid step after /.", hint: "Write */n or a-b/n with n from 1 to \(range.upperBound).")
                }
                step = n
            }
            let body = pieces[0]
            var low: Int, high: Int
            if body == "*" {
                (low, high) = (range.lowerBound, range.upperBound)
            } else if let dash = body.firstIndex(of: "-") {
                low = try value(body[..<dash])
                high = try value(body[body.index(after: dash)...])
                guard low <= high else {
                    throw ScheduleError("'\(part)' in the \(name) field runs backwards.", hint: "Write the smaller value first, or a list.")
                }
            } else {
                low = try value(body)
                high = pieces.count == 2 ? range.upperBound : low  // N/S runs from N to the end
            }
            for v in stride(from: low, through: high, by: step) { set |= 1 << UInt64(v) }
        }
        return set
    }
}

extension String {
    var trimmingSpaces: String {
        String(drop(while: { $0 == " " || $0 == "\t" }).reversed().drop(while: { $0 == " " || $0 == "\t" }).reversed())
    }
}
