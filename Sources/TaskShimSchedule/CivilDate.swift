import TaskShimCore

/// A proleptic Gregorian date and its day number since 1970-01-01.
struct CivilDate: Sendable, Equatable, Comparable {
    var year: Int
    var month: Int
    var day: Int

    init(year: Int, month: Int, day: Int) {
        self.year = year
        self.month = month
        self.day = day
    }

    init(days: Int) {
        let civil = Timestamp.civil(fromDays: Int64(days))
        (year, month, day) = (Int(civil.year), Int(civil.month), Int(civil.day))
    }

    var days: Int { Int(Timestamp.days(fromCivil: Int64(year), Int64(month), Int64(day))) }

    /// 0 = Sunday ... 6 = Saturday.
    var weekday: Int { Self.weekday(days: days) }

    static func weekday(days: Int) -> Int { ((days % 7) + 11) % 7 }  // 1970-01-01 was a Thursday

    static func isLeap(_ year: Int) -> Bool { year % 4 == 0 && (year % 100 != 0 || year % 400 == 0) }

    static func daysIn(month: Int, year: Int) -> Int { Int(Timestamp.daysInMonth(Int64(year), Int64(month))) }

    static func < (a: Self, b: Self) -> Bool { (a.year, a.month, a.day) < (b.year, b.month, b.day) }
}
