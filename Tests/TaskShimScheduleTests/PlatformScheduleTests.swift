import Foundation
import Testing
import TestSupport
@testable import TaskShimSchedule

/// Schedules written for each platform, checked by the platforms' own tools where they run here:
/// systemd-analyze for OnCalendar=, cfn-lint for EventBridge; unix-cron read back.
struct PlatformScheduleTests {
    static let expressions = [
        "*/5 * * * *", "0 9 * * 1-5", "30 2 * * *", "15 10 1,15 * *", "0 0 13 * 5", "0 */6 * * *", "45 23 * 2 *", "0 8 * * 6,0",
        "0 0 L * *", "0 0 L-2 * *", "10 4 * 3-9/2 *", "0 12 */3 * *", "5 0 * 8 2", "0 6 1-7 * 1", "Mon-Fri 09:00", "Sat,Sun 10:15",
        "*-*-* *:30:00", "daily", "rate(15 minutes)", "rate(6 hours)", "30 0 9 * * 1-5",
    ]
    static let zones = ["UTC", "Europe/Berlin", "Asia/Kolkata", "America/New_York"]

    func upcoming(_ schedule: Schedule, _ zone: ScheduleTimeZone, after: Int64, _ count: Int = 12) -> [Int64] {
        schedule.upcoming(count, after: Date(timeIntervalSince1970: Double(after)), in: zone).map { Int64($0.timeIntervalSince1970) }
    }

    /// systemd-analyze calendar's next elapses for `specs`, merged, in UTC.
    func systemdElapses(_ specs: [String], after: Int64, count: Int) throws -> [Int64] {
        let result = try runProcess("/usr/bin/env", ["TZ=UTC", "systemd-analyze", "calendar", "--base-time=@\(after)", "--iterations=\(count)"] + specs)
        try #require(result.status == 0, "systemd-analyze refused \(specs): \(result.stderr)")
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateFormat = "EEE yyyy-MM-dd HH:mm:ss 'UTC'"
        let times = result.stdout.split(separator: "\n").compactMap { line -> Int64? in
            guard line.contains("Next elapse:") || line.contains("Iter. #"), let colon = line.firstIndex(of: ":") else { return nil }
            return formatter.date(from: line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)).map { Int64($0.timeIntervalSince1970) }
        }
        return Array(Set(times).sorted().prefix(count))
    }

    @Test func onCalendarLinesElapseWhenTheScheduleRunsPerSystemdAnalyze() async throws {
        var compared = 0
        for text in Self.expressions {
            let schedule = try Schedule(parsing: text)
            for name in Self.zones {
                let zone = try ScheduleTimeZone(named: name)
                guard let written = try? schedule.written(for: .systemd, in: zone) else { continue }
                // From a quiet time and across a spring-forward week where the zone has one.
                for after in [Int64(1_790_000_000), 1_774_569_600] {
                    let ours = upcoming(schedule, zone, after: after)
                    let theirs = try await offPool { try self.systemdElapses(written.expressions, after: after, count: ours.count) }
                    if ours != theirs, zone.nextTransition(after: after, within: Swift.max(ours.last ?? after, theirs.last ?? after) - after + 1) != nil {
                        continue  // a DST change inside the window: systemd's rule for skipped times is its own
                    }
                    #expect(ours == theirs, "\(text) in \(name) as \(written.expressions) from \(after)")
                    compared += 1
                }
            }
        }
        #expect(compared > 100, "compared \(compared)")
    }

    @Test func eventBridgeExpressionsPassCfnLint() async throws {
        var resources: [String] = []
        for (index, text) in Self.expressions.enumerated() {
            let schedule = try Schedule(parsing: text)
            guard let rule = try? schedule.written(for: .eventBridge, in: .utc) else { continue }
            resources.append("""
                  Rule\(index):
                    Type: AWS::Events::Rule
                    Properties:
                      ScheduleExpression: "\(rule.expressions[0])"
                """)
        }
        #expect(resources.count > 12)
        let directory = try TemporaryDirectory()
        let template = try directory.write("template.yaml", "AWSTemplateFormatVersion: \"2010-09-09\"\nResources:\n" + resources.joined(separator: "\n") + "\n")
        let lint = try await offPool { try runProcess("/usr/bin/env", ["cfn-lint", template]) }
        #expect(lint.status == 0, "cfn-lint (pip install cfn-lint): \(lint.stdout)\(lint.stderr)")
        // And cfn-lint does catch a malformed one (the check is live).
        let bad = try directory.write("bad.yaml", "Resources:\n  R:\n    Type: AWS::Events::Rule\n    Properties:\n      ScheduleExpression: \"cron(0 9 * * 2-6 *)\"\n")
        #expect(try await offPool { try runProcess("/usr/bin/env", ["cfn-lint", bad]) }.status != 0)
    }

    @Test func cronFormsReadBackToTheSameTimes() throws {
        for text in Self.expressions {
            let schedule = try Schedule(parsing: text)
            for name in ["UTC", "Europe/Berlin"] {
                let zone = try ScheduleTimeZone(named: name)
                let ours = upcoming(schedule, zone, after: 1_790_000_000, 30)
                for platform in [PlatformSchedule.Platform.cloudScheduler, .kubernetes, .crontab] {
                    guard let written = try? schedule.written(for: platform, in: zone) else { continue }
                    let back = try Schedule(parsing: written.expressions[0])
                    let readZone = try written.timeZone.map { try ScheduleTimeZone(named: $0) } ?? .utc
                    #expect(upcoming(back, readZone, after: 1_790_000_000, 30) == ours, "\(text) in \(name) for \(platform): \(written)")
                }
                if let written = try? schedule.written(for: .eventBridgeScheduler, in: zone), written.expressions[0].hasPrefix("cron(") {
                    let back = try Schedule(parsing: Self.unixCron(fromEventBridge: written.expressions[0]))
                    #expect(upcoming(back, try ScheduleTimeZone(named: written.timeZone!), after: 1_790_000_000, 30) == ours, "\(text): \(written)")
                }
            }
        }
    }

    /// EventBridge's `cron(m h dom mon dow year)` as 5-field cron: `?` is `*`, weekdays 1-7 from Sunday become 0-6.
    static func unixCron(fromEventBridge text: String) throws -> String {
        let fields = text.dropFirst(5).dropLast().split(separator: " ").map(String.init)
        let dow: String
        if fields[4] == "?" {
            dow = "*"
        } else if fields[4].contains("#") || fields[4].hasSuffix("L") {
            let day = Int(fields[4].prefix { $0.isNumber })!
            dow = "\(day - 1)" + fields[4].drop { $0.isNumber }
        } else {
            let set = try CronExpression.field(fields[4], name: "day-of-week", range: 1...7)
            dow = (1...7).filter { set & 1 << UInt64($0) != 0 }.map { String($0 - 1) }.joined(separator: ",")
        }
        return [fields[0], fields[1], fields[2] == "?" ? "*" : fields[2], fields[3], dow].joined(separator: " ")
    }

    @Test func whatAPlatformCannotSayIsRefusedWithWhatWorks() throws {
        let cases: [(String, String, PlatformSchedule.Platform, String)] = [
            ("0 0 13 * 5", "UTC", .eventBridge, "takes only one of the two"),
            ("0 9 * * 1-5", "Europe/Berlin", .eventBridge, "run in UTC"),
            ("0 0 L * *", "UTC", .kubernetes, "no L, W or #"),
            ("30 0 9 * * *", "UTC", .cloudScheduler, "no seconds field"),
            ("Mon *-*-1..7 06:00", "UTC", .crontab, "both a date and a weekday"),
            ("0 0 15W * *", "UTC", .systemd, "cannot say"),
            ("rate(7 minutes)", "UTC", .kubernetes, "does not divide an hour or a day"),
            ("rate(30 seconds)", "UTC", .eventBridge, "whole minutes"),
        ]
        for (text, zone, platform, message) in cases {
            do {
                let written = try Schedule(parsing: text).written(for: platform, in: try ScheduleTimeZone(named: zone))
                Issue.record("\(text) for \(platform) was written as \(written)")
            } catch {
                #expect(error.message.contains(message) && !error.hint.isEmpty, "\(text) for \(platform): \(error)")
            }
        }
    }
}
