#if canImport(Glibc)
import Glibc
#endif
import Foundation
import Testing
@testable import TaskShimCore

struct TimestampTests {
    let reference = Date(timeIntervalSince1970: 1_795_363_200)  // 2026-11-22T16:00:00Z

    @Test func formatsUTCWithAndWithoutMilliseconds() {
        #expect(Timestamp.format(reference.addingTimeInterval(0.123)) == "2026-11-22T16:00:00.123Z")
        #expect(Timestamp.format(reference, fractional: false) == "2026-11-22T16:00:00Z")
        #expect(Timestamp.format(Date(timeIntervalSince1970: 0), fractional: false) == "1970-01-01T00:00:00Z")
    }

    @Test(arguments: [
        "2026-11-22T16:00:00Z", "2026-11-22T16:00:00z", "2026-11-22 16:00:00", "2026-11-22T18:00:00+02:00",
        "2026-11-22T11:00:00-05:00", "2026-11-22 16:00:00+00", "2026-11-22T16:00:00.000Z", "2026-11-22T17:00:00+0100",
    ])
    func parsesTheFormsDatabasesAndUsersWrite(_ text: String) {
        #expect(Timestamp.parse(text) == reference)
    }

    @Test func parsesFractionsAndBareDates() {
        #expect(Timestamp.parse("2026-11-22T16:00:00.5Z") == reference.addingTimeInterval(0.5))
        #expect(Timestamp.parse("2026-11-22") == Date(timeIntervalSince1970: 1_795_305_600))
    }

    @Test(arguments: ["", "yesterday", "2026-02-31T00:00:00Z", "2026-13-01T00:00:00Z", "2026-11-22T25:00:00Z",
                      "2026-11-22T16:00:00Zjunk", "2026-11-22T16:00", "2026-11-22T16:00:00."])
    func rejectsWhatIsNotADateTime(_ text: String) {
        #expect(Timestamp.parse(text) == nil)
    }
}

struct TimestampCalendarTests {
    @Test func roundTripsEveryDayAcrossCenturiesAgainstTheCLibrary() {
        var seconds: Int64 = -2_208_988_800  // 1900-01-01
        let end: Int64 = 4_102_444_800      // 2100-01-01
        while seconds < end {
            var t = time_t(seconds)
            var parts = tm()
            gmtime_r(&t, &parts)
            let expected = String(format: "%04d-%02d-%02dT%02d:%02d:%02dZ", parts.tm_year + 1900, parts.tm_mon + 1, parts.tm_mday,
                                  parts.tm_hour, parts.tm_min, parts.tm_sec)
            let date = Date(timeIntervalSince1970: Double(seconds))
            #expect(Timestamp.format(date, fractional: false) == expected)
            #expect(Timestamp.parse(expected) == date)
            seconds += 86_400 * 7 + 3_661
        }
    }

    @Test func leapDaysAreValidatedByYear() {
        #expect(Timestamp.parse("2024-02-29T00:00:00Z") != nil)
        #expect(Timestamp.parse("2000-02-29T00:00:00Z") != nil)
        #expect(Timestamp.parse("2026-02-29T00:00:00Z") == nil)
        #expect(Timestamp.parse("1900-02-29T00:00:00Z") == nil)
    }
}
