/// The POSIX TZ string that ends a TZif file (`EST5EDT,M3.2.0,M11.1.0`): the zone's rule after its
/// last listed transition, which for current dates is every date (zic writes "slim" files).
struct PosixTimeZoneRule: Sendable, Equatable {
    /// A date rule: `Mm.w.d` (day `d` of week `w` of month `m`, 5 = last), `Jn` (day n, Feb 29 never
    /// counted) or `n` (zero-based day of the year), with the local time of the change in seconds.
    enum DateRule: Sendable, Equatable {
        case monthWeekDay(month: Int, week: Int, weekday: Int)
        case julianNoLeap(Int)
        case zeroBased(Int)
    }

    var standardOffset: Int
    var daylightOffset: Int?
    var start: (rule: DateRule, time: Int)?
    var end: (rule: DateRule, time: Int)?

    static func == (a: Self, b: Self) -> Bool {
        a.standardOffset == b.standardOffset && a.daylightOffset == b.daylightOffset
            && a.start?.rule == b.start?.rule && a.start?.time == b.start?.time && a.end?.rule == b.end?.rule && a.end?.time == b.end?.time
    }

    /// Parses `std offset [dst [offset] [,start[/time],end[/time]]]`; nil when it is not one.
    init?(_ text: String) {
        var scanner = Scanner(Array(text.utf8))
        guard scanner.skipName(), let standard = scanner.offset() else { return nil }
        standardOffset = -standard  // POSIX offsets are west-positive
        guard !scanner.atEnd else { return }
        guard scanner.skipName() else { return nil }
        daylightOffset = scanner.peekIsOffset ? scanner.offset().map { -$0 } : standardOffset + 3600
        guard daylightOffset != nil else { return nil }
        guard scanner.take(UInt8(ascii: ",")), let start = scanner.transition(), scanner.take(UInt8(ascii: ",")),
              let end = scanner.transition(), scanner.atEnd else { return nil }
        self.start = start
        self.end = end
    }

    /// The offset from UTC at `instant` (seconds since 1970).
    func offset(at instant: Int64) -> Int {
        guard let daylight = daylightOffset, let start, let end else { return standardOffset }
        let year = CivilDate(days: Int(floorDivide(instant + Int64(standardOffset), 86400))).year
        // The latest transition at or before `instant`, among those of the years around it (a rule's
        // change can fall past New Year in UTC).
        let around = (year - 1...year + 1).flatMap { transitions(in: $0) }
        if let last = around.last(where: { $0.instant <= instant }) { return last.offset }
        return around.first?.offset == daylight ? standardOffset : daylight
    }

    /// The transitions in `year`, as UTC instants, with the offset in effect after each.
    func transitions(in year: Int) -> [(instant: Int64, offset: Int)] {
        guard let daylight = daylightOffset, let start, let end else { return [] }
        // Transition instants in UTC: the start is given in standard time, the end in daylight time.
        let begins = Self.instant(start.rule, year: year, localTime: start.time) - Int64(standardOffset)
        let ends = Self.instant(end.rule, year: year, localTime: end.time) - Int64(daylight)
        return [(begins, daylight), (ends, standardOffset)].sorted { $0.instant < $1.instant }
    }

    /// Seconds since 1970 of `localTime` seconds into the day the rule names in `year`, read as UTC.
    static func instant(_ rule: DateRule, year: Int, localTime: Int) -> Int64 {
        let day: Int
        switch rule {
        case .monthWeekDay(let month, let week, let weekday):
            let first = CivilDate(year: year, month: month, day: 1).days
            let firstWeekday = CivilDate.weekday(days: first)
            var dayOfMonth = 1 + (weekday - firstWeekday + 7) % 7 + (week - 1) * 7
            let length = CivilDate.daysIn(month: month, year: year)
            while dayOfMonth > length { dayOfMonth -= 7 }
            day = first + dayOfMonth - 1
        case .julianNoLeap(let n):
            let start = CivilDate(year: year, month: 1, day: 1).days
            day = start + n - 1 + (CivilDate.isLeap(year) && n >= 60 ? 1 : 0)
        case .zeroBased(let n):
            day = CivilDate(year: year, month: 1, day: 1).days + n
        }
        return Int64(day) * 86400 + Int64(localTime)
    }

    private struct Scanner {
        let bytes: [UInt8]
        var index = 0
        init(_ bytes: [UInt8]) { self.bytes = bytes }
        var atEnd: Bool { index == bytes.count }
        var peekIsOffset: Bool { !atEnd && (bytes[index] == UInt8(ascii: "+") || bytes[index] == UInt8(ascii: "-") || isDigit(bytes[index])) }
        func isDigit(_ byte: UInt8) -> Bool { byte >= 48 && byte <= 57 }

        mutating func take(_ byte: UInt8) -> Bool {
            guard !atEnd, bytes[index] == byte else { return false }
            index += 1
            return true
        }

        /// A zone abbreviation: letters, or `<...>` quoted (`<+0330>`).
        mutating func skipName() -> Bool {
            if take(UInt8(ascii: "<")) {
                while !atEnd, bytes[index] != UInt8(ascii: ">") { index += 1 }
                return take(UInt8(ascii: ">"))
            }
            let start = index
            while !atEnd, (bytes[index] | 0x20) >= UInt8(ascii: "a"), (bytes[index] | 0x20) <= UInt8(ascii: "z") { index += 1 }
            return index - start >= 3
        }

        /// At most 3 digits: no field of a TZ string needs more, and a corrupt file cannot overflow.
        mutating func number() -> Int? {
            let start = index
            var value = 0
            while !atEnd, isDigit(bytes[index]) {
                guard index - start < 3 else { return nil }
                value = value * 10 + Int(bytes[index] - 48)
                index += 1
            }
            return index > start ? value : nil
        }

        /// `[+-]hh[:mm[:ss]]` in seconds; hours up to 167 (RFC 8536 §3.3.1).
        mutating func offset() -> Int? {
            var sign = 1
            if take(UInt8(ascii: "-")) { sign = -1 } else { _ = take(UInt8(ascii: "+")) }
            guard let hours = number(), hours <= 167 else { return nil }
            var seconds = hours * 3600
            if take(UInt8(ascii: ":")) {
                guard let minutes = number(), minutes <= 59 else { return nil }
                seconds += minutes * 60
                if take(UInt8(ascii: ":")) {
                    guard let more = number(), more <= 59 else { return nil }
                    seconds += more
                }
            }
            return sign * seconds
        }

        mutating func transition() -> (rule: DateRule, time: Int)? {
            let rule: DateRule
            if take(UInt8(ascii: "M")) {
                guard let month = number(), take(UInt8(ascii: ".")), let week = number(), take(UInt8(ascii: ".")), let weekday = number(),
                      (1...12).contains(month), (1...5).contains(week), (0...6).contains(weekday) else { return nil }
                rule = .monthWeekDay(month: month, week: week, weekday: weekday)
            } else if take(UInt8(ascii: "J")) {
                guard let day = number(), (1...365).contains(day) else { return nil }
                rule = .julianNoLeap(day)
            } else {
                guard let day = number(), (0...365).contains(day) else { return nil }
                rule = .zeroBased(day)
            }
            var time = 7200
            if take(UInt8(ascii: "/")) {
                guard let given = offset() else { return nil }  // may be negative or past 24 h (RFC 8536)
                time = given
            }
            return (rule, time)
        }
    }
}

func floorDivide(_ a: Int64, _ b: Int64) -> Int64 {
    a >= 0 ? a / b : -((-a + b - 1) / b)
}
