import Foundation
import Testing
import TestSupport

extension ProcessDrivingTests {
/// `runtime schedule`: two schedulers on one PostgreSQL, each run fired once between them.
@Suite struct ScheduleRunContractTests {
    /// The run-summary lines' logical times, for `task`.
    func runs(_ stdout: String, task: String) -> [String] {
        stdout.split(separator: "\n").compactMap { line -> String? in
            guard let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any],
                  (object["message"] as? String ?? object["msg"] as? String) == "run finished",
                  task.isEmpty || object["task"] as? String == task else { return nil }
            return object["logical_time"] as? String
        }
    }

    @Test(arguments: ["postgres", "sqlite"]) func twoSchedulersOnOneDatabaseNeverFireTheSameRunTwice(database: String) async throws {
        let directory = try TemporaryDirectory()
        let task = "tick-\(UUID().uuidString.prefix(8).lowercased())"
        _ = try directory.write("taskshim.toml", """
            [tasks.\(task)]
            handler = "echo"
            schedule = "* * * * * *"
            """)
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
        func scheduler(_ name: String) async throws -> ProcessResult {
            try await runProcessAsync(RepositoryPaths.runtimeBinary, ["schedule", "run", "--name", name], environment: environment,
                                      directory: directory.path) { pid in
                // Until 4 runs were claimed (however slow the machine), and a second more for both to be in their loop.
                for _ in 0..<300 where claimed() < 4 { Thread.sleep(forTimeInterval: 0.1) }
                Thread.sleep(forTimeInterval: 1)
                kill(pid, SIGTERM)
            }
        }
        async let first = scheduler("replica-1")
        async let second = scheduler("replica-2")
        let (a, b) = try await (first, second)
        #expect(a.status == 0 && b.status == 0, "\(a.stderr)\(b.stderr)")
        #expect(a.stdout.contains("scheduler started") && a.stdout.contains("scheduler stopped"), "\(a.stdout)")
        let all = runs(a.stdout, task: task) + runs(b.stdout, task: task)
        #expect(all.count >= 4, "runs: \(all)")
        #expect(Set(all).count == all.count, "a run fired twice: \(all.sorted())")
        #expect(try await offPool { claimed() } == all.count, "one claim per run")
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
