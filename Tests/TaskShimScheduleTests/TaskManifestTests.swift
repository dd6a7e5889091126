import Foundation
import Testing
@testable import TaskShimSchedule

struct TaskManifestTests {
    let example = """
        # Tasks of the telemetry deployment.
        version = 1

        [defaults]
        time_zone = "Europe/Berlin"
        timeout = "10m"
        retries = 2

        [tasks.hourly-telemetry]
        handler = "handlers/hourly.sql"
        schedule = "0 * * * *"
        concurrency = "forbid"
        starting_deadline = "1h30m"
        jitter = 30
        secrets = ["TELEMETRY_API_KEY"]
        environment = { STREAM_NAME = "edge", NOTE = "a \\"quoted\\" \\u00e9" }

        [tasks."weekday-report"]
        handler = 'echo'
        schedule = "Mon-Fri 09:00"
        time_zone = "UTC"
        retries = 0
        memory_mib = 512
        platforms = [
          "cloud-run-job",   # where it runs
          "kubernetes",
        ]
        """

    @Test func aManifestIsReadWithItsDefaults() throws {
        let (manifest, problems) = TaskManifest.read(example) { ["echo", "handlers/hourly.sql"].contains($0) }
        #expect(problems.isEmpty, "\(problems)")
        let tasks = try #require(manifest?.tasks)
        #expect(tasks.map(\.name) == ["hourly-telemetry", "weekday-report"], "in the file's order")
        let hourly = tasks[0], report = tasks[1]
        #expect(hourly.timeZone.identifier == "Europe/Berlin" && hourly.timeout == .seconds(600) && hourly.retries == 2, "from the defaults")
        #expect(hourly.concurrency == .forbid && hourly.startingDeadline == .seconds(5400) && hourly.jitter == .seconds(30))
        #expect(hourly.environment == ["STREAM_NAME": "edge", "NOTE": "a \"quoted\" é"] && hourly.secrets == ["TELEMETRY_API_KEY"])
        #expect(report.timeZone == .utc && report.retries == 0 && report.memoryMiB == 512 && report.platforms == ["cloud-run-job", "kubernetes"], "its own settings win")
        #expect(hourly.line == 9 && report.line == 18)
        #expect(report.schedule == (try Schedule(parsing: "Mon-Fri 09:00")))
    }

    @Test func everyProblemIsReportedWithItsLine() {
        let text = """
            version = 1
            [defaults]
            time_zon = "UTC"

            [tasks.a]
            handler = "nope.sql"
            schedule = "0 9 * *"
            concurency = "forbid"
            retries = -1
            timeout = "5 minutes"
            audit = ["stdout", "splnk"]

            [tasks.b]
            schedule = "rate(5 minutes)"
            time_zone = "Mars/Base"
            """
        let (manifest, problems) = TaskManifest.read(text) { $0 == "echo" }
        #expect(manifest == nil)
        let expected: [(Int, String, String)] = [
            (3, "defaults.time_zon", "did you mean time_zone?"), (6, "tasks.a.handler", "'nope.sql' is neither"), (7, "tasks.a.schedule", "has 4 field(s)"),
            (8, "tasks.a.concurency", "did you mean concurrency?"), (9, "tasks.a.retries", "from 0 to 100"), (10, "tasks.a.timeout", "not a duration"),
            (11, "tasks.a.audit", "did you mean splunk?"), (13, "tasks.b.handler", "is missing"), (15, "tasks.b.time_zone", "Mars/Base"),
        ]
        for (line, key, message) in expected {
            #expect(problems.contains { $0.line == line && $0.key == key && $0.message.contains(message) }, "line \(line) \(key): \(problems)")
        }
        #expect(problems.count == expected.count, "\(problems)")
    }

    @Test func tomlMistakesAreReportedWhereTheyAre() {
        let cases: [(String, Int, String)] = [
            ("x = \n", 1, "a value is missing"),
            ("[tasks.a]\nhandler = \"echo\nschedule = 1\n", 2, "not closed on its line"),
            ("[tasks.a]\n[tasks.a]\n", 2, "defined twice"),
            ("[tasks.a]\nhandler = \"x\"\nhandler = \"y\"\n", 3, "set twice (first on line 2)"),
            ("[[tasks]]\n", 1, "arrays of tables"),
            ("a.b = 1\n", 1, "dotted keys"),
            ("x = \"\"\"long\"\"\"\n", 1, "multi-line strings"),
            ("x = yes\n", 1, "'yes' is not a value"),
            ("x = [1, 2\n", 2, "expected ',' or ']'"),
            ("x = \"a\" b\n", 1, "unexpected text after the value"),
            ("x = \"\\q\"\n", 1, "not an escape"),
        ]
        for (text, line, message) in cases {
            let (manifest, problems) = TaskManifest.read(text) { _ in true }
            #expect(manifest == nil && problems.count == 1 && problems[0].line == line && problems[0].message.contains(message), "\(text.debugDescription): \(problems)")
        }
    }

    @Test func aBadDefaultIsReportedOnceWhereItIs() {
        let text = "[defaults]\ntimeout = \"soon\"\n[tasks.a]\nhandler = \"echo\"\nschedule = \"@daily\"\n[tasks.b]\nhandler = \"echo\"\nschedule = \"@daily\"\nsecrets = [1, \"A-B\"]\njitter = \"400d\"\n"
        let (_, problems) = TaskManifest.read(text) { _ in true }
        #expect(problems.filter { $0.key == "defaults.timeout" }.count == 1 && problems.first { $0.key == "defaults.timeout" }?.line == 2, "\(problems)")
        #expect(problems.contains { $0.key == "tasks.b.secrets" && $0.message.contains("'A-B'") && $0.line == 9 }, "\(problems)")
        #expect(problems.contains { $0.key == "tasks.b.jitter" && $0.message.contains("at most a year") }, "\(problems)")
        // Deep nesting is refused, not a crash.
        let deep = "x = " + String(repeating: "[", count: 10_000) + "\n"
        #expect(TaskManifest.read(deep) { _ in true }.problems.first?.message.contains("nest too deep") == true)
    }

    @Test func durationsAndNearMisses() {
        #expect(TaskManifest.parseDuration("90") == .seconds(90))
        #expect(TaskManifest.parseDuration("1h30m") == .seconds(5400))
        #expect(TaskManifest.parseDuration("2d") == .seconds(172_800))
        for bad in ["", "5", "m5", "5 m", "5w", "1h30", "9999999999s"] where bad != "5" {
            #expect(TaskManifest.parseDuration(bad) == nil, "\(bad)")
        }
        #expect(TaskManifest.suggestion("concurency", ["concurrency", "retries"]) == " (did you mean concurrency?)")
        #expect(TaskManifest.suggestion("zzz", ["concurrency"]) == "")
    }
}
