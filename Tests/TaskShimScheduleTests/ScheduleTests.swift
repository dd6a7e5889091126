import Foundation
import Testing
import TestSupport
@testable import TaskShimSchedule

struct ScheduleTests {
    func utc(_ text: String) -> Date { ISO8601DateFormatter().date(from: text)! }

    func next(_ schedule: String, _ count: Int, after: String, zone: String = "UTC") throws -> [String] {
        let formatter = ISO8601DateFormatter()
        return try Schedule(parsing: schedule).upcoming(count, after: utc(after), in: try ScheduleTimeZone(named: zone)).map(formatter.string)
    }

    @Test func aSkippedLocalTimeRunsOnceAtTheTransition() throws {
        // New York springs forward at 02:00 EST to 03:00 EDT on 2026-03-08.
        #expect(try next("30 2 * * *", 3, after: "2026-03-07T00:00:00Z", zone: "America/New_York")
                == ["2026-03-07T07:30:00Z", "2026-03-08T07:00:00Z", "2026-03-09T06:30:00Z"])
        // Every minute of the skipped hour: one run at the transition, then on from 03:00.
        #expect(try next("*/20 2-3 * * *", 4, after: "2026-03-08T05:00:00Z", zone: "America/New_York")
                == ["2026-03-08T07:00:00Z", "2026-03-08T07:20:00Z", "2026-03-08T07:40:00Z", "2026-03-09T06:00:00Z"])
    }

    @Test func aRepeatedLocalTimeRunsOnceAtItsFirstOccurrence() throws {
        // New York falls back at 02:00 EDT to 01:00 EST on 2026-11-01: 01:00-01:59 happens twice.
        #expect(try next("*/30 1 * * *", 4, after: "2026-11-01T04:00:00Z", zone: "America/New_York")
                == ["2026-11-01T05:00:00Z", "2026-11-01T05:30:00Z", "2026-11-02T06:00:00Z", "2026-11-02T06:30:00Z"])
        // Started inside the second pass: nothing more that day.
        #expect(try next("*/30 1 * * *", 1, after: "2026-11-01T06:10:00Z", zone: "America/New_York") == ["2026-11-02T06:00:00Z"])
        // Southern hemisphere: Sydney falls back at 03:00 AEDT to 02:00 AEST on 2026-04-05.
        #expect(try next("30 2 * * *", 2, after: "2026-04-04T12:00:00Z", zone: "Australia/Sydney")
                == ["2026-04-04T15:30:00Z", "2026-04-05T16:30:00Z"])
    }

    @Test func quartzDaySyntaxFollowsItsDefinitions() throws {
        #expect(try next("0 0 L * *", 3, after: "2028-01-15T00:00:00Z") == ["2028-01-31T00:00:00Z", "2028-02-29T00:00:00Z", "2028-03-31T00:00:00Z"])
        #expect(try next("0 0 L-2 * *", 2, after: "2026-02-01T00:00:00Z") == ["2026-02-26T00:00:00Z", "2026-03-29T00:00:00Z"])
        // 2026-02-28 is a Saturday: LW is Friday the 27th; 15W on Sunday 2026-02-15 is Monday the 16th;
        // 1W on Saturday 2026-08-01 is Monday the 3rd (never the month before).
        #expect(try next("0 0 LW * *", 1, after: "2026-02-01T00:00:00Z") == ["2026-02-27T00:00:00Z"])
        #expect(try next("0 0 15W * *", 1, after: "2026-02-01T00:00:00Z") == ["2026-02-16T00:00:00Z"])
        #expect(try next("0 0 1W * *", 1, after: "2026-07-15T00:00:00Z") == ["2026-08-03T00:00:00Z"])
        // The last Friday, the second Tuesday.
        #expect(try next("0 0 * * 5L", 2, after: "2026-01-01T00:00:00Z") == ["2026-01-30T00:00:00Z", "2026-02-27T00:00:00Z"])
        #expect(try next("0 0 * * TUE#2", 1, after: "2026-01-01T00:00:00Z") == ["2026-01-13T00:00:00Z"])
    }

    @Test func dayFieldsCombineAsInVixieCron() throws {
        // Both restricted: either. One starting with *: both.
        #expect(try next("0 0 13 * 5", 3, after: "2026-02-01T00:00:00Z") == ["2026-02-06T00:00:00Z", "2026-02-13T00:00:00Z", "2026-02-20T00:00:00Z"])
        #expect(try next("0 0 */2 * 1", 2, after: "2026-01-01T00:00:00Z") == ["2026-01-05T00:00:00Z", "2026-01-19T00:00:00Z"])
        #expect(try next("0 0 ? * MON", 1, after: "2026-01-01T00:00:00Z") == ["2026-01-05T00:00:00Z"])
    }

    @Test func calendarSpecsReadAsSystemdReadsThem() throws {
        #expect(try next("Mon-Fri 09:00", 3, after: "2026-12-04T10:00:00Z") == ["2026-12-07T09:00:00Z", "2026-12-08T09:00:00Z", "2026-12-09T09:00:00Z"])
        #expect(try next("*-*-* *:30:00", 2, after: "2026-12-04T10:00:00Z") == ["2026-12-04T10:30:00Z", "2026-12-04T11:30:00Z"])
        #expect(try next("Sat,Sun 10:15", 2, after: "2026-12-04T00:00:00Z") == ["2026-12-05T10:15:00Z", "2026-12-06T10:15:00Z"])
        #expect(try next("Mon..Wed *-*-01..07 06:00", 2, after: "2026-12-04T00:00:00Z") == ["2026-12-07T06:00:00Z", "2027-01-04T06:00:00Z"],
                "weekday and date both")
        #expect(try next("*-*-1/10 00:00", 3, after: "2026-12-04T00:00:00Z") == ["2026-12-11T00:00:00Z", "2026-12-21T00:00:00Z", "2026-12-31T00:00:00Z"])
        #expect(try next("daily", 1, after: "2026-12-04T10:00:00Z") == ["2026-12-05T00:00:00Z"])
        #expect(try next("weekly", 1, after: "2026-12-04T10:00:00Z") == ["2026-12-07T00:00:00Z"])
        #expect(try next("*:0/15", 2, after: "2026-12-04T10:07:00Z") == ["2026-12-04T10:15:00Z", "2026-12-04T10:30:00Z"])
    }

    @Test func rareButPossibleDatesAreAcceptedAndFound() throws {
        // Feb 29 on a Sunday next comes in 2032; on a Monday in 2044.
        #expect(try next("0 0 * 2 SUN#5", 1, after: "2026-01-01T00:00:00Z") == ["2032-02-29T00:00:00Z"])
        #expect(try next("0 0 * 2 MON#5", 1, after: "2026-01-01T00:00:00Z") == ["2044-02-29T00:00:00Z"])
        // A day-of-month field of every day, under the either rule, runs every day; so does its normal form.
        #expect(try Schedule(parsing: "0 0 1-31 * 1").normalized == "0 0 0 * * *")
        #expect(try next("0 0 1-31 * 1", 2, after: "2026-01-01T00:00:00Z") == ["2026-01-02T00:00:00Z", "2026-01-03T00:00:00Z"])
        #expect(try next("biannually", 1, after: "2026-03-01T00:00:00Z") == ["2026-07-01T00:00:00Z"])
        // Nothing past 9999.
        #expect(try next("0 0 1 1 *", 2, after: "9998-06-01T00:00:00Z") == ["9999-01-01T00:00:00Z"])
    }

    @Test func ratesRunAtMultiplesOfTheirIntervalSince1970() throws {
        #expect(try next("rate(15 minutes)", 2, after: "2026-12-04T10:07:00Z") == ["2026-12-04T10:15:00Z", "2026-12-04T10:30:00Z"])
        #expect(try next("rate(1 day)", 1, after: "2026-12-04T10:07:00Z") == ["2026-12-05T00:00:00Z"])
    }

    @Test func namesAndSecondsFields() throws {
        #expect(try next("@hourly", 1, after: "2026-12-04T10:07:00Z") == ["2026-12-04T11:00:00Z"])
        #expect(try next("*/15 * * * * *", 2, after: "2026-12-04T10:07:00Z") == ["2026-12-04T10:07:15Z", "2026-12-04T10:07:30Z"])
        #expect(try Schedule(parsing: "0 9 * * MON-FRI").normalized == "0 0 9 * * 1-5")
        #expect(try Schedule(parsing: "*/15 0 1,15 * *").normalized == "0 */15 0 1,15 * *")
    }

    @Test func badSchedulesSayWhatIsWrongAndWhatWorks() {
        let cases: [(String, String)] = [
            ("0 9 * *", "has 4 field(s)"), ("61 * * * *", "'61' is not a valid minute value"), ("0 0 30 2 *", "matches no date"),
            ("0 0 * * 8", "'8' is not a valid day-of-week"), ("5-1 * * * *", "runs backwards"), ("@reboot", "not a cron name"),
            ("rate(0 minutes)", "is not a rate"), ("Mon-Fry 09:00", "'Fry' in 'Mon-Fry 09:00' is not a weekday"),
            ("2027-01-01 00:00", "names a year"), ("*/0 * * * *", "no valid step"), ("0 0 * * 1#6", "WEEKDAY#N"),
            ("*/5 *", "has 2 field(s)"), ("rate(200000000000000 days)", "longer than 10 years"), ("Fri..Mon 09:00", "runs backwards"),
            ("*-*-* 9-17:00", "ranges are written a..b"), ("*:*/15", "* takes no step"), ("*-02-30", "matches no date"),
            ("Mon 09:00 UTC", "ends with a time zone"),
        ]
        for (text, message) in cases {
            do {
                _ = try Schedule(parsing: text)
                Issue.record("\(text) was accepted")
            } catch {
                #expect(error.message.contains(message) && !error.hint.isEmpty, "\(text): \(error)")
            }
        }
    }

    /// The zone rules against Python's zoneinfo (the same TZif files, read by code that is not ours),
    /// far past the files' last listed transition, where the POSIX rule alone decides.
    @Test func offsetsMatchPythonsZoneinfoFrom1970To2100() async throws {
        let zones = ["America/New_York", "Europe/Berlin", "Australia/Sydney", "Asia/Kolkata", "America/St_Johns", "Pacific/Chatham",
                     "America/Sao_Paulo", "Africa/Casablanca", "Europe/London", "Asia/Tehran", "America/Santiago", "Pacific/Auckland"]
        var instants: [Int64] = []
        var state: UInt64 = 42
        for _ in 0..<400 {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            instants.append(Int64(state >> 33) % 4_102_444_800)
        }
        let script = """
            import sys, json, datetime, zoneinfo
            zones, instants = json.loads(sys.stdin.read())
            print(json.dumps({z: [int(datetime.datetime.fromtimestamp(t, zoneinfo.ZoneInfo(z)).utcoffset().total_seconds()) for t in instants] for z in zones}))
            """
        let input = try JSONSerialization.data(withJSONObject: [zones, instants])
        let result = try await offPool { try runProcess("/usr/bin/env", ["python3", "-c", script], input: input) }
        let expected = try #require(try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: [Int]], "\(result.stderr)")
        for name in zones {
            let zone = try ScheduleTimeZone(named: name)
            let ours = instants.map { zone.offset(at: $0) }
            let mismatches = zip(instants, zip(ours, expected[name] ?? [])).filter { $0.1.0 != $0.1.1 }
            #expect(mismatches.isEmpty, "\(name): \(mismatches.prefix(3))")
        }
    }

    @Test func timeZoneNamesAreCheckedBeforeAnyFileIsRead() {
        for name in ["../../etc/passwd", "/etc/localtime", "Europe/Nowhere", "", "Europe/../Berlin"] {
            #expect(throws: ScheduleError.self, "\(name)") { _ = try ScheduleTimeZone(named: name) }
        }
    }
}
