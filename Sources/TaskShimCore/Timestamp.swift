import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// RFC 3339 timestamps in UTC, as every log format and record here uses them.
public enum Timestamp {
    /// `2026-11-22T18:30:00.123Z` (milliseconds) or `2026-11-22T18:30:00Z` when `fractional` is false.
    public static func format(_ date: Date, fractional: Bool = true) -> String {
        let interval = date.timeIntervalSince1970
        var seconds = time_t(interval.rounded(.down))
        var millis = Int(((interval - Double(seconds)) * 1000).rounded(.down))
        if millis >= 1000 { seconds += 1; millis -= 1000 }
        var parts = tm()
        gmtime_r(&seconds, &parts)
        var out = pad(Int(parts.tm_year) + 1900, 4) + "-" + pad(Int(parts.tm_mon) + 1, 2) + "-" + pad(Int(parts.tm_mday), 2)
        out += "T" + pad(Int(parts.tm_hour), 2) + ":" + pad(Int(parts.tm_min), 2) + ":" + pad(Int(parts.tm_sec), 2)
        if fractional { out += "." + pad(millis, 3) }
        return out + "Z"
    }

    private static func pad(_ value: Int, _ width: Int) -> String {
        let digits = String(value)
        return digits.count >= width ? digits : String(repeating: "0", count: width - digits.count) + digits
    }

    /// Parses RFC 3339 / ISO 8601 date-times: `2026-11-22T18:00:00Z`, with fractional seconds, with an
    /// offset (`+02:00`), with a space instead of `T` (as databases print them), or a date alone
    /// (midnight UTC). A time without an offset is UTC.
    public static func parse(_ raw: String) -> Date? {
        var text = raw.trimmingCharacters(in: .whitespaces)
        if text.count == 10 { text += "T00:00:00Z" }
        guard text.count >= 19 else { return nil }
        var chars = Array(text.utf8)
        if chars[10] == UInt8(ascii: " ") { chars[10] = UInt8(ascii: "T") }
        func number(_ from: Int, _ count: Int) -> Int? {
            guard from + count <= chars.count else { return nil }
            var value = 0
            for c in chars[from..<(from + count)] {
                guard c >= 48 && c <= 57 else { return nil }
                value = value * 10 + Int(c - 48)
            }
            return value
        }
        guard let year = number(0, 4), chars[4] == 45, let month = number(5, 2), chars[7] == 45,
              let day = number(8, 2), chars[10] == UInt8(ascii: "T"), let hour = number(11, 2), chars[13] == 58,
              let minute = number(14, 2), chars[16] == 58, let second = number(17, 2),
              (1...12).contains(month), (1...31).contains(day), hour < 24, minute < 60, second < 61 else { return nil }
        var index = 19
        var fraction = 0.0
        if index < chars.count, chars[index] == UInt8(ascii: ".") {
            index += 1
            var scale = 0.1
            let start = index
            while index < chars.count, chars[index] >= 48, chars[index] <= 57 {
                fraction += Double(chars[index] - 48) * scale
                scale /= 10
                index += 1
            }
            if index == start { return nil }
        }
        var offset = 0
        if index < chars.count {
            let sign = chars[index]
            if sign == UInt8(ascii: "Z") || sign == UInt8(ascii: "z") {
                index += 1
            } else if (sign == UInt8(ascii: "+") || sign == UInt8(ascii: "-")) && chars.count - index == 3 {
                guard let oh = number(index + 1, 2) else { return nil }  // +00, as Postgres prints
                offset = oh * 3600 * (sign == UInt8(ascii: "+") ? 1 : -1)
                index += 3
            } else if sign == UInt8(ascii: "+") || sign == UInt8(ascii: "-") {
                let compact = chars.count - index == 5  // +0200
                guard let oh = number(index + 1, 2), let om = number(index + (compact ? 3 : 4), 2) else { return nil }
                if !compact && chars[index + 3] != 58 { return nil }
                offset = (oh * 3600 + om * 60) * (sign == UInt8(ascii: "+") ? 1 : -1)
                index += compact ? 5 : 6
            }
            guard index == chars.count else { return nil }
        }
        var parts = tm()
        parts.tm_year = Int32(year - 1900)
        parts.tm_mon = Int32(month - 1)
        parts.tm_mday = Int32(day)
        parts.tm_hour = Int32(hour)
        parts.tm_min = Int32(minute)
        parts.tm_sec = Int32(second)
        let epoch = timegm(&parts)
        // timegm normalises 31 February into March: reject dates that did not survive.
        var check = epoch
        var back = tm()
        gmtime_r(&check, &back)
        guard back.tm_mday == Int32(day) else { return nil }
        return Date(timeIntervalSince1970: Double(epoch - offset) + fraction)
    }
}
