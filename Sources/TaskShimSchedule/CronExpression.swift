/// A cron expression: 5 fields (`minute hour day-of-month month day-of-week`) or 6 with seconds first,
/// or a name (`@hourly`, `@daily`, ...). Lists, ranges, steps, month and weekday names, `?`, and
/// Quartz's `L`, `W`, `LW`, `L-n`, `nL` and `n#k`. Day-of-month and day-of-week combine as in Vixie
/// cron: when either field starts with `*`, a day must match both; otherwise either.
public struct CronExpression: Sendable, Equatable {
    /// How the day-of-month and day-of-week fields combine.
    public enum DayMatching: Sendable, Equatable {
        /// Vixie cron with both fields restricted: a day matching either runs.
        case either
        /// A day must match both (Vixie cron when either field starts with `*`; systemd calendars).
        case both
    }

    var seconds: UInt64 = 1
    var minutes: UInt64 = 0
    var hours: UInt64 = 0
    var daysOfMonth: UInt64 = 0
    var months: UInt64 = 0
    var daysOfWeek: UInt64 = 0
    /// `L` / `L-n`: the last day of the month less n.
    var lastDayOffsets: Set<Int> = []
    /// `nW`: the weekday nearest day n, within the month.
    var nearestWeekdays: Set<Int> = []
    /// `LW`: the last weekday of the month.
    var lastWeekday = false
    /// `dL`: the last weekday d of the month.
    var lastOfWeekdays: Set<Int> = []
    /// `d#k`: the k-th weekday d of the month.
    var nthWeekdays: Set<Int> = []  // d * 10 + k
    public var dayMatching: DayMatching = .both
    /// Whether the expression was written with a seconds field.
    public var hasSeconds = false
    /// The expression as written.
    public var source: String = ""

    init() {}

    public static func == (a: Self, b: Self) -> Bool {
        (a.seconds, a.minutes, a.hours, a.daysOfMonth, a.months, a.daysOfWeek) == (b.seconds, b.minutes, b.hours, b.daysOfMonth, b.months, b.daysOfWeek)
            && a.lastDayOffsets == b.lastDayOffsets && a.nearestWeekdays == b.nearestWeekdays && a.lastWeekday == b.lastWeekday
            && a.lastOfWeekdays == b.lastOfWeekdays && a.nthWeekdays == b.nthWeekdays && a.dayMatching == b.dayMatching
    }

    /// Whether the day-of-month field holds only plain days (no `L`, `W`).
    var plainDaysOfMonth: Bool { lastDayOffsets.isEmpty && nearestWeekdays.isEmpty && !lastWeekday }
    /// Whether the day-of-week field holds only plain weekdays (no `L`, `#`).
    var plainDaysOfWeek: Bool { lastOfWeekdays.isEmpty && nthWeekdays.isEmpty }
    var everyDayOfMonth: Bool { plainDaysOfMonth && daysOfMonth == Self.bits(1...31) }
    var everyDayOfWeek: Bool { plainDaysOfWeek && daysOfWeek == Self.bits(0...6) }

    static func bits(_ range: ClosedRange<Int>) -> UInt64 {
        range.reduce(0) { $0 | 1 << UInt64($1) }
    }

    // MARK: Matching

    func matches(_ date: CivilDate) -> Bool {
        guard months & 1 << UInt64(date.month) != 0 else { return false }
        let dom = matchesDayOfMonth(date)
        let dow = matchesDayOfWeek(date)
        return dayMatching == .both ? dom && dow : dom || dow
    }

    private func matchesDayOfMonth(_ date: CivilDate) -> Bool {
        if daysOfMonth & 1 << UInt64(date.day) != 0 { return true }
        let length = CivilDate.daysIn(month: date.month, year: date.year)
        if lastDayOffsets.contains(where: { length - $0 == date.day }) { return true }
        let weekday = date.weekday
        guard weekday != 0, weekday != 6 else { return false }
        if lastWeekday {
            var last = length
            while CivilDate(year: date.year, month: date.month, day: last).weekday % 6 == 0 { last -= 1 }
            if last == date.day { return true }
        }
        for target in nearestWeekdays where Self.nearestWeekday(to: target, year: date.year, month: date.month) == date.day {
            return true
        }
        return false
    }

    private func matchesDayOfWeek(_ date: CivilDate) -> Bool {
        let weekday = date.weekday
        if daysOfWeek & 1 << UInt64(weekday) != 0 { return true }
        if lastOfWeekdays.contains(weekday), date.day + 7 > CivilDate.daysIn(month: date.month, year: date.year) { return true }
        return nthWeekdays.contains(weekday * 10 + (date.day - 1) / 7 + 1)
    }

    /// Quartz's `nW`: day n if a weekday, else the nearest weekday in the same month.
    static func nearestWeekday(to day: Int, year: Int, month: Int) -> Int? {
        let length = CivilDate.daysIn(month: month, year: year)
        guard day <= length else { return nil }
        switch CivilDate(year: year, month: month, day: day).weekday {
        case 6: return day == 1 ? 3 : day - 1       // Saturday: Friday, or Monday the 3rd
        case 0: return day == length ? day - 2 : day + 1  // Sunday: Monday, or Friday before the last
        default: return day
        }
    }

    /// The first second of the day at or after `second` (0-86399) the expression runs, nil if none.
    func nextTime(fromSecondOfDay second: Int) -> Int? {
        var hour = second / 3600, minute = second / 60 % 60, sec = second % 60
        while hour < 24 {
            if hours & 1 << UInt64(hour) != 0 {
                while minute < 60 {
                    if minutes & 1 << UInt64(minute) != 0, let s = Self.firstBit(seconds, from: sec, below: 60) {
                        return hour * 3600 + minute * 60 + s
                    }
                    minute += 1
                    sec = 0
                }
            }
            hour += 1
            minute = 0
            sec = 0
        }
        return nil
    }

    static func firstBit(_ set: UInt64, from: Int, below limit: Int) -> Int? {
        guard from < limit else { return nil }
        let masked = set >> UInt64(from)
        guard masked != 0 else { return nil }
        let bit = from + masked.trailingZeroBitCount
        return bit < limit ? bit : nil
    }
}
