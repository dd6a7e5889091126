/// The tasks a deployment runs, read from a TOML file (`taskshim.toml`):
///
/// ```toml
/// [defaults]
/// time_zone = "Europe/Berlin"
///
/// [tasks.hourly-telemetry]
/// handler = "handlers/hourly.sql"
/// schedule = "0 * * * *"
/// timeout = "5m"
/// concurrency = "forbid"
/// ```
///
/// Every problem is reported with its line, not just the first.
public struct TaskManifest: Sendable {
    /// What to do when a run is due while the previous one still runs.
    public enum ConcurrencyPolicy: String, Sendable, CaseIterable {
        case allow, forbid, replace
    }

    public struct Task: Sendable {
        public var name: String
        /// A handler name or a file (`.sql`) relative to the manifest.
        public var handler: String
        public var schedule: Schedule
        public var scheduleText: String
        public var timeZone: ScheduleTimeZone
        public var timeout: Duration?
        public var retries: Int
        public var concurrency: ConcurrencyPolicy
        public var startingDeadline: Duration?
        public var jitter: Duration?
        public var secrets: [String]
        public var audit: [String]
        public var environment: [String: String]
        public var memoryMiB: Int?
        public var platforms: [String]
        /// The line of its `[tasks.NAME]` header.
        public var line: Int
    }

    /// One thing wrong, where.
    public struct Problem: Sendable, Equatable, CustomStringConvertible {
        public var line: Int
        /// `tasks.hourly.schedule`, or empty for the file as a whole.
        public var key: String
        public var message: String
        public var description: String { key.isEmpty ? "line \(line): \(message)" : "line \(line): \(key): \(message)" }
    }

    public var tasks: [Task]

    static let taskKeys = ["handler", "schedule", "time_zone", "timeout", "retries", "concurrency", "starting_deadline", "jitter",
                           "secrets", "audit", "environment", "memory_mib", "platforms"]
    static let auditSinks = ["stdout", "file", "splunk", "webhook"]
    static let platformNames = ["lambda", "cloud-run", "cloud-run-job", "cloud-functions", "ecs", "kubernetes", "systemd", "crontab"]

    /// Reads and checks a manifest. `handlerExists` says whether a handler name or file resolves.
    public static func read(_ text: String, handlerExists: (String) -> Bool) -> (manifest: TaskManifest?, problems: [Problem]) {
        let document: TOMLDocument
        do {
            document = try TOMLDocument(parsing: text)
        } catch {
            let line = Int(error.message.dropFirst(5).prefix { $0.isNumber }) ?? 1
            let message = error.message.drop { $0 != ":" }.dropFirst(2)
            return (nil, [Problem(line: line, key: "", message: String(message))])
        }
        var problems: [Problem] = []
        func problem(_ located: TOMLDocument.Located?, _ key: String, _ message: String, line: Int = 1) {
            problems.append(Problem(line: located?.line ?? line, key: key, message: message))
        }
        for (key, value) in document.root where !["version", "defaults", "tasks"].contains(key) {
            problem(value, key, "is not a manifest setting" + suggestion(key, ["version", "defaults", "tasks"]))
        }
        if let version = document.root["version"], version.value != .integer(1) {
            problem(version, "version", "must be 1")
        }
        var defaults: [String: TOMLDocument.Located] = [:]
        if let located = document.root["defaults"] {
            guard case .table(let table) = located.value else {
                problem(located, "defaults", "must be a table ([defaults])")
                return (nil, problems)
            }
            defaults = table
            for (key, value) in table where !taskKeys.contains(key) || key == "handler" || key == "schedule" {
                problem(value, "defaults.\(key)", ["handler", "schedule"].contains(key) ? "belongs to each task, not the defaults"
                        : "is not a task setting" + suggestion(key, taskKeys))
            }
        }
        guard let tasksValue = document.root["tasks"], case .table(let taskTables) = tasksValue.value, !taskTables.isEmpty else {
            problem(document.root["tasks"], "tasks", "no tasks: add a [tasks.NAME] table with a handler and a schedule")
            return (nil, problems)
        }
        var tasks: [Task] = []
        for (name, located) in taskTables.sorted(by: { $0.value.line < $1.value.line }) {
            guard case .table(let own) = located.value else {
                problem(located, "tasks.\(name)", "must be a table ([tasks.\(name)])")
                continue
            }
            if let task = readTask(name, own.merging(defaults) { mine, _ in mine }, ownKeys: Set(own.keys), line: located.line,
                                   handlerExists: handlerExists, problem: problem) {
                tasks.append(task)
            }
        }
        var unique: [Problem] = []
        for problem in problems where !unique.contains(problem) { unique.append(problem) }
        return (unique.isEmpty ? TaskManifest(tasks: tasks) : nil, unique)
    }

    private static func readTask(_ name: String, _ settings: [String: TOMLDocument.Located], ownKeys: Set<String>, line: Int,
                                 handlerExists: (String) -> Bool,
                                 problem: (TOMLDocument.Located?, String, String, Int) -> Void) -> Task? {
        let before = ProblemCounter()
        func report(_ located: TOMLDocument.Located?, _ key: String, _ message: String) {
            before.count += 1
            // A value the task took from [defaults] is reported there (once, however many tasks take it).
            let setting = String(key.prefix { $0 != "." })
            let owner = located != nil && !ownKeys.contains(setting) ? "defaults" : "tasks.\(name)"
            problem(located, "\(owner)\(key.isEmpty ? "" : "." + key)", message, line)
        }
        for key in ownKeys where !taskKeys.contains(key) {
            report(settings[key], key, "is not a task setting" + suggestion(key, taskKeys))
        }
        func text(_ key: String) -> String? {
            guard let located = settings[key] else { return nil }
            guard case .string(let value) = located.value else { report(located, key, "must be text, in quotes"); return nil }
            return value
        }
        func duration(_ key: String) -> Duration? {
            guard let located = settings[key] else { return nil }
            switch located.value {
            case .integer(let seconds) where seconds >= 0 && seconds <= maximumDuration: return .seconds(seconds)
            case .string(let value):
                if let parsed = parseDuration(value), parsed <= .seconds(maximumDuration) { return parsed }
                report(located, key, "'\(value)' is not a duration of at most a year: write for example \"30s\", \"5m\", \"1h30m\" or \"2d\"")
            default: report(located, key, "must be a duration such as \"5m\"")
            }
            return nil
        }
        func list(_ key: String, allowed: [String]? = nil) -> [String] {
            guard let located = settings[key] else { return [] }
            guard case .array(let items) = located.value else { report(located, key, "must be a list, e.g. [\"a\", \"b\"]"); return [] }
            return items.compactMap { item in
                guard case .string(let value) = item.value else { report(item, key, "must hold text"); return nil }
                if let allowed, !allowed.contains(value) {
                    report(item, key, "'\(value)' is not one of \(allowed.joined(separator: ", "))" + suggestion(value, allowed))
                    return nil
                }
                return value
            }
        }
        func integer(_ key: String, _ range: ClosedRange<Int>) -> Int? {
            guard let located = settings[key] else { return nil }
            guard case .integer(let value) = located.value, range.contains(value) else {
                report(located, key, "must be a whole number from \(range.lowerBound) to \(range.upperBound)")
                return nil
            }
            return value
        }

        let handler = text("handler")
        if settings["handler"] == nil { report(nil, "handler", "is missing: name a handler or a .sql file") }
        if let handler, !handlerExists(handler) {
            report(settings["handler"], "handler", "'\(handler)' is neither a handler this binary has nor a file next to the manifest (runtime list shows the handlers)")
        }
        let scheduleText = text("schedule")
        if settings["schedule"] == nil { report(nil, "schedule", "is missing: e.g. \"0 * * * *\", \"Mon-Fri 09:00\" or \"rate(15 minutes)\"") }
        var schedule: Schedule?
        if let scheduleText {
            do throws(ScheduleError) {
                schedule = try Schedule(parsing: scheduleText)
            } catch {
                report(settings["schedule"], "schedule", error.description)
            }
        }
        var zone = ScheduleTimeZone.utc
        if let name = text("time_zone") {
            do throws(ScheduleError) {
                zone = try ScheduleTimeZone(named: name)
            } catch {
                report(settings["time_zone"], "time_zone", error.description)
            }
        }
        let timeout = duration("timeout")
        let deadline = duration("starting_deadline")
        let jitter = duration("jitter")
        let retries = integer("retries", 0...100) ?? 0
        let memory = integer("memory_mib", 128...10240)
        var concurrency = ConcurrencyPolicy.allow
        if let value = text("concurrency") {
            if let policy = ConcurrencyPolicy(rawValue: value) { concurrency = policy } else {
                report(settings["concurrency"], "concurrency", "'\(value)' is not allow, forbid or replace" + suggestion(value, ConcurrencyPolicy.allCases.map(\.rawValue)))
            }
        }
        let secrets = list("secrets")
        if case .array(let items)? = settings["secrets"]?.value {
            for item in items {
                if case .string(let secret) = item.value, !secret.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "_" }) {
                    report(item, "secrets", "'\(secret)' is not an environment variable name")
                }
            }
        }
        let audit = list("audit", allowed: auditSinks)
        let platforms = list("platforms", allowed: platformNames)
        var environment: [String: String] = [:]
        if let located = settings["environment"] {
            if case .table(let table) = located.value {
                for (key, value) in table {
                    if case .string(let text) = value.value { environment[key] = text } else { report(value, "environment.\(key)", "must be text, in quotes") }
                }
            } else {
                report(located, "environment", "must be a table, e.g. { STREAM_NAME = \"edge\" }")
            }
        }
        guard before.count == 0, let handler, let schedule, let scheduleText else { return nil }
        return Task(name: name, handler: handler, schedule: schedule, scheduleText: scheduleText, timeZone: zone, timeout: timeout,
                    retries: retries, concurrency: concurrency, startingDeadline: deadline, jitter: jitter, secrets: secrets, audit: audit,
                    environment: environment, memoryMiB: memory, platforms: platforms, line: line)
    }

    private final class ProblemCounter { var count = 0 }

    /// The longest timeout, deadline or jitter: a year.
    static let maximumDuration = 366 * 86400

    /// `30s`, `5m`, `1h30m`, `2d`, or a number of seconds.
    static func parseDuration(_ text: String) -> Duration? {
        if let seconds = Int(text), seconds >= 0 { return seconds <= maximumDuration ? .seconds(seconds) : nil }
        var total = 0, number = 0, digits = 0
        for character in text {
            if let digit = character.wholeNumberValue, character.isASCII {
                number = number * 10 + digit
                digits += 1
                guard digits <= 9 else { return nil }
                continue
            }
            let unit: Int
            switch character {
            case "s": unit = 1
            case "m": unit = 60
            case "h": unit = 3600
            case "d": unit = 86400
            default: return nil
            }
            guard digits > 0 else { return nil }
            total += number * unit  // at most 9 digits times a day: no overflow
            guard total <= maximumDuration else { return nil }
            (number, digits) = (0, 0)
        }
        return digits == 0 && !text.isEmpty ? .seconds(total) : nil
    }

    /// " (did you mean X?)" for a near miss.
    static func suggestion(_ word: String, _ choices: [String]) -> String {
        func distance(_ a: [Character], _ b: [Character]) -> Int {
            var row = Array(0...b.count)
            for (i, ca) in a.enumerated() {
                var previous = row[0]
                row[0] = i + 1
                for (j, cb) in b.enumerated() {
                    let current = row[j + 1]
                    row[j + 1] = min(row[j + 1] + 1, row[j] + 1, previous + (ca == cb ? 0 : 1))
                    previous = current
                }
            }
            return row[b.count]
        }
        let best = choices.map { ($0, distance(Array(word.lowercased()), Array($0))) }.min { $0.1 < $1.1 }
        guard let best, best.1 <= 2 else { return "" }
        return " (did you mean \(best.0)?)"
    }
}
