import ArgumentParser
import FoundationEssentials

struct ScheduleCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "schedule",
        abstract: "Run a manifest's tasks on their schedules, or explain a schedule.",
        subcommands: [Run.self, Explain.self],
        defaultSubcommand: Run.self
    )

    struct Explain: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "explain",
            abstract: "Print a schedule's normalised form and its next fire times.",
            discussion: """
                Schedules: 5-field cron ('0 9 * * 1-5'), 6-field cron with seconds first, @hourly-style names, \
                systemd calendar specs ('Mon-Fri 09:00', '*-*-* *:30:00', 'daily') and rates ('rate(15 minutes)').
                A local time the clocks skip runs once at the transition; one they repeat runs once, the first time.

                Examples:
                  runtime schedule explain '0 9 * * 1-5' --time-zone Europe/Berlin
                  runtime schedule explain 'Mon-Fri 09:00' --count 3 --json
                """
        )

        @Argument(help: "The schedule, quoted.")
        var expression: String

        @Option(name: [.customShort("z"), .long], help: "The IANA time zone the schedule is read in.")
        var timeZone = "UTC"

        @Option(name: [.customShort("n"), .long], help: "How many fire times to print (1-1000).")
        var count = 10

        @Option(help: "Start from this time (RFC 3339, e.g. 2026-03-08T00:00:00Z) instead of now.")
        var after: String?

        @Flag(help: "Print one JSON object instead of text.")
        var json = false

        func run() async throws {
            guard let (_, io) = Runtime.current else { return }
            try await io.reportingErrors { _ throws(TaskShimError) in
                guard (1...1000).contains(count) else { throw .usage("--count must be from 1 to 1000.") }
                let schedule: Schedule
                let zone: ScheduleTimeZone
                do throws(ScheduleError) {
                    schedule = try Schedule(parsing: expression)
                    zone = try ScheduleTimeZone(named: timeZone)
                } catch {
                    throw .usage(error.message, hint: error.hint)
                }
                var start = Date()
                if let after {
                    guard let date = Timestamp.parse(after) else {
                        throw .usage("--after \(after) is not an RFC 3339 time.", hint: "For example 2026-03-08T00:00:00Z.")
                    }
                    start = date
                }
                let times = schedule.upcoming(count, after: start, in: zone)
                let normalized = schedule.normalized
                let platforms: [(PlatformSchedule.Platform, Result<PlatformSchedule, ScheduleError>)] = PlatformSchedule.Platform.allCases.map { platform in
                    do throws(ScheduleError) {
                        return (platform, .success(try schedule.written(for: platform, in: zone)))
                    } catch {
                        return (platform, .failure(error))
                    }
                }
                if json {
                    var line = JSONLine()
                    line.add("schedule", expression)
                    line.add("normalized", normalized)
                    line.add("time_zone", zone.identifier)
                    line.add("next", rawJSON: "[" + times.map { JSONLine.quoted(Self.local($0, zone)) }.joined(separator: ",") + "]")
                    var written = JSONLine()
                    for (platform, result) in platforms {
                        var entry = JSONLine()
                        switch result {
                        case .success(let form):
                            entry.add("expressions", rawJSON: "[" + form.expressions.map(JSONLine.quoted).joined(separator: ",") + "]")
                            if let zone = form.timeZone { entry.add("time_zone", zone) }
                            if let note = form.note { entry.add("note", note) }
                        case .failure(let error):
                            entry.add("error", error.description)
                        }
                        written.add(platform.rawValue, rawJSON: entry.string)
                    }
                    line.add("platforms", rawJSON: written.string)
                    io.standardOutput.write(line: line.string)
                    return
                }
                io.standardOutput.write(line: "schedule    \(expression)")
                io.standardOutput.write(line: "normalized  \(normalized)")
                io.standardOutput.write(line: "time zone   \(zone.identifier)")
                for time in times {
                    io.standardOutput.write(line: "  \(Self.local(time, zone))  (\(Timestamp.format(time, fractional: false)))")
                }
                if times.count < count { io.standardOutput.write(line: "  (no more within 50 years)") }
                io.standardOutput.write(line: "written for")
                for (platform, result) in platforms {
                    let label = platform.rawValue + String(repeating: " ", count: max(1, 23 - platform.rawValue.count))
                    switch result {
                    case .success(let form):
                        let zone = form.timeZone.map { "  (time zone \($0))" } ?? ""
                        io.standardOutput.write(line: "  \(label)\(form.expressions.joined(separator: " | "))\(zone)")
                    case .failure(let error):
                        io.standardOutput.write(line: "  \(label)cannot: \(error.message)")
                    }
                }
            }
        }

        /// RFC 3339 with the zone's offset: `2026-03-08T03:00:00-04:00`.
        static func local(_ date: Date, _ zone: ScheduleTimeZone) -> String {
            let seconds = Int64(date.timeIntervalSince1970)
            let offset = zone.offset(at: seconds)
            let wall = Timestamp.format(Date(timeIntervalSince1970: Double(seconds + Int64(offset))), fractional: false)
            guard offset != 0 else { return wall }
            let sign = offset < 0 ? "-" : "+"
            let hours = abs(offset) / 3600, minutes = abs(offset) / 60 % 60
            return String(wall.dropLast()) + sign + (hours < 10 ? "0" : "") + "\(hours):" + (minutes < 10 ? "0" : "") + "\(minutes)"
        }
    }
}
