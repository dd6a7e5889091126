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
                  (object["message"] as? String ?? object["msg"] as? String) == "run finished", object["task"] as? String == task else { return nil }
            return object["logical_time"] as? String
        }
    }

    @Test func twoSchedulersOnOneDatabaseNeverFireTheSameRunTwice() async throws {
        let directory = try TemporaryDirectory()
        let task = "tick-\(UUID().uuidString.prefix(8).lowercased())"
        _ = try directory.write("taskshim.toml", """
            [tasks.\(task)]
            handler = "echo"
            schedule = "* * * * * *"
            """)
        let environment = ["TASKSHIM_SCHEDULE_URL": try TestServers.postgresURL(), "TASKSHIM_LOG_FORMAT": "json", "LOG_LEVEL": "info"]
        func scheduler(_ name: String) async throws -> ProcessResult {
            try await runProcessAsync(RepositoryPaths.runtimeBinary, ["schedule", "run", "--name", name], environment: environment,
                                      directory: directory.path) { pid in
                Thread.sleep(forTimeInterval: 5)
                kill(pid, SIGTERM)
            }
        }
        async let first = scheduler("replica-1")
        async let second = scheduler("replica-2")
        let (a, b) = try await (first, second)
        #expect(a.status == 0 && b.status == 0, "\(a.stderr)\(b.stderr)")
        #expect(a.stdout.contains("scheduler started") && a.stdout.contains("scheduler stopped"), "\(a.stdout)")
        let all = runs(a.stdout, task: task) + runs(b.stdout, task: task)
        #expect(all.count >= 3, "runs: \(all)")
        #expect(Set(all).count == all.count, "a run fired twice: \(all.sorted())")
        let check = try runProcess("/usr/bin/env", ["psql", "-X", "-tA", try TestServers.postgresURL(), "-c",
                                                    "SELECT count(*) FROM taskshim_schedule_runs WHERE task = '\(task)'"])
        #expect(Int(check.stdout.trimmingCharacters(in: .whitespacesAndNewlines)) == all.count, "claims: \(check.stdout)")
    }

    @Test func anInvalidManifestStopsTheSchedulerWithItsProblems() async throws {
        let directory = try TemporaryDirectory()
        _ = try directory.write("taskshim.toml", "[tasks.a]\nhandler = \"echo\"\nschedule = \"0 9 * *\"\n")
        let result = try await runProcessAsync(RepositoryPaths.runtimeBinary, ["schedule"], directory: directory.path)
        #expect(result.status == 65 && result.stderr.contains("line 3: tasks.a.schedule") && result.stderr.contains("runtime validate"), "\(result.stderr)")
    }
}
}
