import Foundation
import Testing
import TestSupport

extension ProcessDrivingTests {
/// `runtime schedule`: two schedulers on one PostgreSQL, each run fired once between them.
@Suite struct ScheduleRunContractTests {
    /// Blocks until `condition` holds, up to 30 s (however slow the machine).
    static func poll(_ condition: () -> Bool) {
        let end = Date().addingTimeInterval(30)
        while !condition() && Date() < end { Thread.sleep(forTimeInterval: 0.1) }
    }

    /// The run-summary lines of `task` (of every task when empty), parsed.
    func summaries(_ stdout: String, task: String) -> [[String: Any]] {
        stdout.split(separator: "\n").compactMap { line in
            guard let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any],
                  object["message"] as? String == "run finished", task.isEmpty || object["task"] as? String == task else { return nil }
            return object
        }
    }

    /// A directory whose taskshim.toml has one task due every second, with `settings`, and its unique name.
    func project(_ prefix: String, _ settings: String) throws -> (TemporaryDirectory, String) {
        let directory = try TemporaryDirectory()
        let task = "\(prefix)-\(UUID().uuidString.prefix(8).lowercased())"
        _ = try directory.write("taskshim.toml", "[tasks.\(task)]\nschedule = \"* * * * * *\"\n\(settings)\n")
        return (directory, task)
    }

    /// Two `schedule run` processes in `directory`, each stopped with SIGTERM once `until` returns; both must exit 0.
    func replicas(_ binary: String, _ directory: TemporaryDirectory, _ environment: [String: String],
                  until: @escaping @Sendable () -> Void) async throws -> (ProcessResult, ProcessResult) {
        func scheduler(_ name: String) async throws -> ProcessResult {
            try await runProcessAsync(binary, ["schedule", "run", "--name", name], environment: environment, directory: directory.path) { pid in
                until()
                kill(pid, SIGTERM)
            }
        }
        async let first = scheduler("replica-1")
        async let second = scheduler("replica-2")
        let (a, b) = try await (first, second)
        #expect(a.status == 0 && b.status == 0, "\(a.stderr)\(b.stderr)")
        return (a, b)
    }

    /// The run-summary lines' logical times, for `task`.
    func runs(_ stdout: String, task: String) -> [String] {
        summaries(stdout, task: task).compactMap { $0["logical_time"] as? String }
    }

    @Test(arguments: ["postgres", "sqlite"]) func twoSchedulersOnOneDatabaseNeverFireTheSameRunTwice(database: String) async throws {
        let (directory, task) = try project("tick", #"handler = "echo""#)
        // PostgreSQL for replicas anywhere; a SQLite file (created by the first one) for the processes of one host.
        let url = database == "postgres" ? try TestServers.postgresURL() : "sqlite://" + directory.file("claims.db")
        let environment = ["TASKSHIM_SCHEDULE_URL": url, "TASKSHIM_LOG_FORMAT": "json", "LOG_LEVEL": "info"]
        let sql = "SELECT count(*) FROM taskshim_schedule_runs WHERE task = '\(task)'"
        let path = directory.file("claims.db")
        /// Claimed runs so far (the schedulers are in their loop, signal handlers installed, once there are some).
        @Sendable func claimed() -> Int {
            let check = database == "postgres"
                ? try? runProcess("/usr/bin/env", ["psql", "-X", "-tA", url, "-c", sql])
                : try? runProcess("/usr/bin/env", ["python3", "-c", "import sqlite3, sys\ntry: print(sqlite3.connect(sys.argv[1]).execute(sys.argv[2]).fetchone()[0])\nexcept Exception: print(0)", path, sql])
            return Int(check?.stdout.trimmingCharacters(in: .whitespacesAndNewlines) ?? "") ?? 0
        }
        let (a, b) = try await replicas(RepositoryPaths.runtimeBinary, directory, environment) {
            // Until 4 runs were claimed (however slow the machine), and a second more for both to be in their loop.
            Self.poll { claimed() >= 4 }
            Thread.sleep(forTimeInterval: 1)
        }
        #expect(a.stdout.contains("scheduler started") && a.stdout.contains("scheduler stopped"), "\(a.stdout)")
        let all = runs(a.stdout, task: task) + runs(b.stdout, task: task)
        #expect(all.count >= 4, "runs: \(all)")
        #expect(Set(all).count == all.count, "a run fired twice: \(all.sorted())")
        #expect(try await offPool { claimed() } == all.count, "one claim per run")
    }

    nonisolated(unsafe) static let timestamps = {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return formatter
    }()

    /// The run-summary lines of `task` as (start, end) in seconds: the line's time is the end.
    func intervals(_ stdout: String, task: String) -> [(Double, Double)] {
        summaries(stdout, task: task).compactMap { object -> (Double, Double)? in
            guard let time = object["time"] as? String, let end = Self.timestamps.date(from: time),
                  let duration = (object["duration_ms"] as? NSNumber)?.doubleValue else { return nil }
            return (end.timeIntervalSince1970 - duration / 1000, end.timeIntervalSince1970)
        }
    }

    @Test(arguments: ["postgres", "redis"]) func aForbidTaskRunsOnceAtATimeAcrossSchedulers(store: String) async throws {
        // Due every second, running 2.5 s: without a shared lease the other replica would start the next one.
        let (directory, task) = try project("slow", #"handler = "sleep""# + "\n" + #"concurrency = "forbid""# + "\n" + #"environment = { SLEEP_MS = "2500" }"#)
        let url = store == "postgres" ? try TestServers.postgresURL() : try TestServers.redisURL()
        let environment = ["TASKSHIM_SCHEDULE_URL": url, "TASKSHIM_LOG_FORMAT": "json", "LOG_LEVEL": "info"]
        let (a, b) = try await replicas(RepositoryPaths.embeddedRuntimeBinary, directory, environment) { Thread.sleep(forTimeInterval: 9) }
        let runs = (intervals(a.stdout, task: task) + intervals(b.stdout, task: task)).sorted { $0.0 < $1.0 }
        #expect(runs.count >= 2, "\(a.stdout)\n\(b.stdout)")
        for (earlier, later) in zip(runs, runs.dropFirst()) {
            #expect(later.0 >= earlier.1 - 0.05, "runs overlap: \(earlier) and \(later)")
        }
        let elsewhere = (a.stdout + b.stdout).split(separator: "\n").filter { $0.contains("still runs on another scheduler") }
        #expect(!elsewhere.isEmpty, "one replica found the other's run holding the lease")
    }

    @Test func aSchedulerKilledMidRunFreesAForbidTaskWhenItsLeaseLapses() async throws {
        let (directory, task) = try project("held", #"handler = "sleep""# + "\n" + #"concurrency = "forbid""# + "\n" + #"environment = { SLEEP_MS = "60000" }"#)
        let url = try TestServers.postgresURL()
        let environment = ["TASKSHIM_SCHEDULE_URL": url, "TASKSHIM_SCHEDULE_LEASE": "3", "TASKSHIM_DRAIN_TIMEOUT": "0",
                           "TASKSHIM_LOG_FORMAT": "json", "LOG_LEVEL": "info"]
        @Sendable func leased() -> Bool {
            let check = try? runProcess("/usr/bin/env", ["psql", "-X", "-tA", url, "-c", "SELECT count(*) FROM taskshim_schedule_leases WHERE task = '\(task)'"])
            return check?.stdout.trimmingCharacters(in: .whitespacesAndNewlines) == "1"
        }
        // The first scheduler starts a run of a minute and is killed (SIGKILL) in the middle of it.
        let killed = try await runProcessAsync(RepositoryPaths.embeddedRuntimeBinary, ["schedule", "run", "--name", "doomed"], environment: environment,
                                               directory: directory.path) { pid in
            Self.poll { leased() }
            kill(pid, SIGKILL)
        }
        #expect(killed.status == SIGKILL || killed.stdout.contains("sleeping"), "\(killed.stdout)")
        let started = Date()
        // The second finds the dead one's lease for up to 3 s, then runs the task.
        let survivor = try await runProcessAsync(RepositoryPaths.embeddedRuntimeBinary, ["schedule", "run", "--name", "survivor"], environment: environment,
                                                 directory: directory.path) { pid in
            Thread.sleep(forTimeInterval: 6)
            kill(pid, SIGTERM)
        }
        let lines = survivor.stdout.split(separator: "\n")
        let skipped = lines.firstIndex { $0.contains("still runs on another scheduler") }
        let ran = lines.firstIndex { $0.contains("\"sleeping\"") }
        #expect(survivor.status == 0 && ran != nil, "\(survivor.stdout)\(survivor.stderr)")
        if let skipped, let ran { #expect(skipped < ran) }
        #expect(Date().timeIntervalSince(started) < 30)
        #expect(try await !offPool { leased() }, "the survivor's run, cancelled at stop, gave its lease up")
    }

    @Test func sighupReadsTheManifestAgainAndABadOneIsRefused() async throws {
        let directory = try TemporaryDirectory()
        let manifest = try directory.write("taskshim.toml", "[tasks.before]\nhandler = \"echo\"\nschedule = \"* * * * * *\"\n")
        let path = directory.file("claims.db")
        let environment = ["TASKSHIM_SCHEDULE_URL": "sqlite://" + path, "TASKSHIM_LOG_FORMAT": "json", "LOG_LEVEL": "info"]
        /// The runs of `task` claimed so far.
        @Sendable func claimed(_ task: String) -> Int {
            let sql = "SELECT count(*) FROM taskshim_schedule_runs WHERE task = '\(task)'"
            let check = try? runProcess("/usr/bin/env", ["python3", "-c", "import sqlite3, sys\ntry: print(sqlite3.connect(sys.argv[1]).execute(sys.argv[2]).fetchone()[0])\nexcept Exception: print(0)", path, sql])
            return Int(check?.stdout.trimmingCharacters(in: .whitespacesAndNewlines) ?? "") ?? 0
        }
        let result = try await runProcessAsync(RepositoryPaths.runtimeBinary, ["schedule"], environment: environment, directory: directory.path) { pid in
            Self.poll { claimed("before") >= 2 }
            try? "[tasks.after]\nhandler = \"echo\"\nschedule = \"* * * * * *\"\n".write(toFile: manifest, atomically: true, encoding: .utf8)
            kill(pid, SIGHUP)
            Self.poll { claimed("after") >= 2 }
            try? "[tasks.after]\nhandler = \"echo\"\nschedule = \"0 9 * *\"\n".write(toFile: manifest, atomically: true, encoding: .utf8)
            kill(pid, SIGHUP)
            let before = claimed("after")
            Self.poll { claimed("after") >= before + 2 }
            kill(pid, SIGTERM)
        }
        #expect(result.status == 0, "\(result.stderr)")
        let lines = result.stdout.split(separator: "\n").map(String.init)
        guard let reloaded = lines.firstIndex(where: { $0.contains("\"manifest reloaded\"") }),
              let refused = lines.firstIndex(where: { $0.contains("manifest not reloaded") }) else {
            Issue.record("no reload lines: \(result.stdout)")
            return
        }
        #expect(refused > reloaded && lines[refused].contains("line 3") && lines[refused].contains("tasks before it go on"), "\(lines[refused])")
        // Before the reload only the old task ran; after it only the new one, still after the bad manifest.
        let task = { (line: String) in (try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])?["task"] as? String }
        let finished = { (range: ArraySlice<String>) in range.filter { $0.contains("\"run finished\"") }.compactMap(task) }
        #expect(Set(finished(lines[..<reloaded])) == ["before"])
        #expect(finished(lines[(refused + 1)...]).count >= 2 && Set(finished(lines[(refused + 1)...])) == ["after"], "\(result.stdout)")
    }

    @Test func enqueuedRunsAreRunByAWorkerForTheirScheduledTime() async throws {
        let directory = try TemporaryDirectory()
        _ = try directory.write("taskshim.toml", "[tasks.tick]\nhandler = \"echo\"\nschedule = \"* * * * * *\"\n")
        let queue = directory.file("queue.db")
        let environment = ["TASKSHIM_QUEUE_URL": "sqlite://" + queue, "TASKSHIM_LOG_FORMAT": "json", "LOG_LEVEL": "info"]
        let scheduled = try await runProcessAsync(RepositoryPaths.runtimeBinary, ["schedule", "run", "--enqueue"], environment: environment,
                                                  directory: directory.path) { pid in
            Thread.sleep(forTimeInterval: 3.5)
            kill(pid, SIGTERM)
        }
        let enqueued = scheduled.stdout.split(separator: "\n").filter { $0.contains("\"run enqueued\"") }
        #expect(scheduled.status == 0 && enqueued.count >= 2, "\(scheduled.stdout)\(scheduled.stderr)")
        let worker = try await runProcessAsync(RepositoryPaths.runtimeBinary, ["worker", "--burst"], environment: environment, directory: directory.path)
        #expect(worker.status == 0, "\(worker.stderr)")
        // Each job ran for the second it was scheduled, under the run's key, once.
        let times = runs(worker.stdout, task: "")
        let expected = enqueued.compactMap { line in
            (try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])?["logical_time"] as? String
        }
        #expect(times.sorted() == expected.sorted() && Set(times).count == times.count, "worker \(times) vs enqueued \(expected)")
    }

    @Test func anInvalidManifestStopsTheSchedulerWithItsProblems() async throws {
        let directory = try TemporaryDirectory()
        _ = try directory.write("taskshim.toml", "[tasks.a]\nhandler = \"echo\"\nschedule = \"0 9 * *\"\n")
        let result = try await runProcessAsync(RepositoryPaths.runtimeBinary, ["schedule"], directory: directory.path)
        #expect(result.status == 65 && result.stderr.contains("line 3: tasks.a.schedule") && result.stderr.contains("runtime validate"), "\(result.stderr)")
    }
}
}
