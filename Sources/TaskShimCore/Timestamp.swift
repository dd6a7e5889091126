import FoundationEssentials

/// RFC 3339 timestamps in UTC, as every log format and record here uses them. Pure arithmetic on
/// bytes: no locale, no time-zone database, no allocation beyond the result. The SQL handler calls
/// both functions once per row.
public enum Timestamp {
    /// `2026-11-22T18:30:00.123Z` (milliseconds) or `2026-11-22T18:30:00Z` when `fractional` is false.
    public static func format(_ date: Date, fractional: Bool = true) -> String {
        let interval = date.timeIntervalSince1970
        var seconds = Int64(interval.rounded(.down))
        var millis = Int64(((interval - Double(seconds)) * 1000).rounded(.down))
        if millis >= 1000 { seconds += 1; millis -= 1000 }
        let days = seconds >= 0 ? seconds / 86_400 : (seconds - 86_399) / 86_400
        let secondOfDay = seconds - days * 86_400
        let (year, month, day) = civil(fromDays: days)
        return String(unsafeUninitializedCapacity: 24) { buffer in
            var index = 0
            func put(_ value: Int64, _ width: Int) {
                var remaining = value
                for offset in stride(from: width - 1, through: 0, by: -1) {
                    buffer[index + offset] = UInt8(48 + remaining % 10)
                    remaining /= 10
                }
                index += width
            }
            func put(_ byte: UInt8) { buffer[index] = byte; index += 1 }
            put(year, 4); put(0x2D); put(month, 2); put(0x2D); put(day, 2); put(0x54)
            put(secondOfDay / 3600, 2); put(0x3A); put(secondOfDay / 60 % 60, 2); put(0x3A); put(secondOfDay % 60, 2)
            if fractional { put(0x2E); put(millis, 3) }
            put(0x5A)
            return index
        }
    }

    /// Parses RFC 3339 / ISO 8601 date-times: `2026-11-22T18:00:00Z`, with fractional seconds, with an
    /// offset (`+02:00`, `+0200`, `+02` as Postgres prints it), with a space instead of `T` (as
    /// databases print them), or a date alone (midnight UTC). A time without an offset is UTC.
    public static func parse(_ text: String) -> Date? {
        var copy = text
        return copy.withUTF8 { parse(bytes: $0) }
    }

    static func parse(bytes raw: UnsafeBufferPointer<UInt8>) -> Date? {
        var start = 0
        var end = raw.count
        while start < end, raw[start] == 0x20 { start += 1 }
        while end > start, raw[end - 1] == 0x20 { end -= 1 }
        let length = end - start
        func digits(_ from: Int, _ count: Int) -> Int64? {
            guard from + count <= length else { return nil }
            var value: Int64 = 0
            for i in from..<(from + count) {
                let c = raw[start + i]
                guard c >= 48 && c <= 57 else { return nil }
                value = value * 10 + Int64(c - 48)
            }
            return value
        }
        func byte(_ i: Int) -> UInt8 { raw[start + i] }
        guard length >= 10, let year = digits(0, 4), byte(4) == 0x2D, let month = digits(5, 2), byte(7) == 0x2D,
              let day = digits(8, 2), (1...12).contains(month), day >= 1, day <= daysInMonth(year, month) else { return nil }
        var seconds = days(fromCivil: year, month, day) * 86_400
        if length == 10 { return Date(timeIntervalSince1970: Double(seconds)) }
        guard length >= 19, byte(10) == 0x54 || byte(10) == 0x74 || byte(10) == 0x20,
              let hour = digits(11, 2), byte(13) == 0x3A, let minute = digits(14, 2), byte(16) == 0x3A,
              let second = digits(17, 2), hour < 24, minute < 60, second < 61 else { return nil }
        seconds += hour * 3600 + minute * 60 + second
        var index = 19
        var fraction = 0.0
        if index < length, byte(index) == 0x2E {
            index += 1
            var scale = 0.1
            let first = index
            while index < length, byte(index) >= 48, byte(index) <= 57 {
                fraction += Double(byte(index) - 48) * scale
                scale /= 10
                index += 1
            }
            if index == first { return nil }
        }
        if index < length {
            let sign = byte(index)
            if sign == 0x5A || sign == 0x7A {  // Z
                index += 1
            } else if sign == 0x2B || sign == 0x2D {  // + or -
                let rest = length - index
                guard let hours = digits(index + 1, 2) else { return nil }
                var minutes: Int64 = 0
                switch rest {
                case 3: break                                              // +02
                case 5: guard let m = digits(index + 3, 2) else { return nil }; minutes = m          // +0200
                case 6: guard byte(index + 3) == 0x3A, let m = digits(index + 4, 2) else { return nil }; minutes = m  // +02:00
                default: return nil
                }
                let offset = hours * 3600 + minutes * 60
                seconds -= sign == 0x2B ? offset : -offset
                index += rest
            }
            guard index == length else { return nil }
        }
        return Date(timeIntervalSince1970: Double(seconds) + fraction)
    }

    public static func daysInMonth(_ year: Int64, _ month: Int64) -> Int64 {
        switch month {
        case 2: (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 ? 29 : 28
        case 4, 6, 9, 11: 30
        default: 31
        }
    }

    /// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's days_from_civil).
    public static func days(fromCivil year: Int64, _ month: Int64, _ day: Int64) -> Int64 {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yearOfEra = y - era * 400
        let dayOfYear = (153 * (month + (month > 2 ? -3 : 9)) + 2) / 5 + day - 1
        let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
        return era * 146_097 + dayOfEra - 719_468
    }

    /// The date of a day number since 1970-01-01 (civil_from_days).
    public static func civil(fromDays days: Int64) -> (year: Int64, month: Int64, day: Int64) {
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let dayOfEra = z - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36_524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let mp = (5 * dayOfYear + 2) / 153
        let day = dayOfYear - (153 * mp + 2) / 5 + 1
        let month = mp < 10 ? mp + 3 : mp - 9
        return (yearOfEra + era * 400 + (month <= 2 ? 1 : 0), month, day)
    }
}
