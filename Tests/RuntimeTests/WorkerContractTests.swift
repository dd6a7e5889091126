import Foundation
import Testing
import TestSupport
@testable import TaskShim

extension ProcessDrivingTests {
/// `runtime enqueue` and `runtime worker` against the local PostgreSQL.
@Suite struct WorkerContractTests {
    func queueName(_ label: String) -> String { "\(label)-\(UUID().uuidString.prefix(8))" }

    func row(_ id: String, _ columns: String) async throws -> [String?] {
        let database = try await PostgresConnection.connect(url: try TestServers.postgresURL())
        return try #require(try await database.all("SELECT \(columns) FROM taskshim_jobs WHERE job_id = :id",
                                                   parameters: ["id": .integer(Int64(id)!)]).first).values
    }

    @Test func enqueuedJobsAreRunByABurstWorkerWithTheirResultsKept() async throws {
        let url = try TestServers.postgresURL()
        let q = queueName("burst")
        var ids: [String] = []
        for n in 0..<12 {
            let added = try await runProcessAsync(RepositoryPaths.runtimeBinary, ["enqueue", "echo", "--queue", url, "--queue-name", q,
                                                                                  "--payload", #"{"n":\#(n)}"#])
            #expect(added.status == 0, "\(added.stderr)")
            ids.append(added.stdout.trimmingCharacters(in: .whitespacesAndNewlines))
        }
        let worker = try await runProcessAsync(RepositoryPaths.runtimeBinary, ["worker", "--queue", url, "--queues", q, "--burst", "--concurrency", "4"],
                                               environment: ["TASKSHIM_LOG_FORMAT": "json"])
        #expect(worker.status == 0, "\(worker.stdout)\(worker.stderr)")
        #expect(worker.stdout.contains(#""jobs":12"#) || worker.stdout.contains(#""jobs":"12""#), "\(worker.stdout)")
        for (n, id) in ids.enumerated() {
            let values = try await row(id, "status, result_json::text, attempt_count")
            #expect(values == ["completed", #"{"n": \#(n)}"#, "1"])
        }
        #expect(!worker.stdout.contains(Canary.value) && !worker.stderr.contains(Canary.value), "the database password was printed")
    }

    @Test func aKilledWorkersJobIsRunAgainByAnotherWithItsAttemptCounted() async throws {
        let url = try TestServers.postgresURL()
        let q = queueName("kill")
        let added = try await runProcessAsync(RepositoryPaths.embeddedRuntimeBinary, ["enqueue", "sleep", "--queue", url, "--queue-name", q,
                                                                                      "--payload", #"{"ms":1500}"#, "--retry-delay", "0"])
        let id = added.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(added.status == 0 && Int(id) != nil, "\(added.stderr)")
        let first = try BackgroundRuntime(environment: ["TASKSHIM_LOG_FORMAT": "json"], arguments: ["worker", "--queue", url, "--queues", q, "--lease", "2"],
                                          executable: RepositoryPaths.embeddedRuntimeBinary)
        #expect(try await first.waitForLog("sleeping"))
        first.signal(SIGKILL)
        _ = await first.waitForExit(timeout: 10)
        // The second worker finds the job once the first one's lease has run out.
        let second = try await runProcessAsync(RepositoryPaths.embeddedRuntimeBinary,
                                               ["worker", "--queue", url, "--queues", q, "--lease", "2", "--max-jobs", "1", "--poll-seconds", "0.2"],
                                               environment: ["TASKSHIM_LOG_FORMAT": "json"])
        #expect(second.status == 0, "\(second.stdout)\(second.stderr)")
        #expect(try await row(id, "status, attempt_count, result_json::text") == ["completed", "2", #""slept""#])
    }

    @Test func sigtermReleasesARunningJobForTheNextWorker() async throws {
        let url = try TestServers.postgresURL()
        let q = queueName("sigterm")
        let added = try await runProcessAsync(RepositoryPaths.embeddedRuntimeBinary, ["enqueue", "sleep", "--queue", url, "--queue-name", q,
                                                                                      "--payload", #"{"ms":30000}"#])
        let id = added.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        // A second job, claimed ahead (prefetch 1 with one slot) and waiting when the signal comes.
        let ahead = try await runProcessAsync(RepositoryPaths.embeddedRuntimeBinary, ["enqueue", "sleep", "--queue", url, "--queue-name", q,
                                                                                      "--payload", #"{"ms":30000}"#])
        let worker = try BackgroundRuntime(environment: ["TASKSHIM_LOG_FORMAT": "json"],
                                           arguments: ["worker", "--queue", url, "--queues", q, "--prefetch", "1"],
                                           executable: RepositoryPaths.embeddedRuntimeBinary)
        #expect(try await worker.waitForLog("sleeping"))
        try await Task.sleep(for: .milliseconds(200))  // the claim ahead
        let start = ContinuousClock.now
        worker.signal(SIGTERM)
        #expect(await worker.waitForExit(timeout: 20) == 0, "\(worker.stdout)")
        #expect(ContinuousClock.now - start < .seconds(10), "the 30 s job was cancelled, not waited for")
        let values = try await row(id, "status, attempt_count, available_at <= now(), error_text")
        #expect(values[0] == "retry" && values[1] == "0" && values[2] == "t", "back, untried, available at once: \(values)")
        #expect(values[3]?.contains("stopped") == true)
        let waited = try await row(ahead.stdout.trimmingCharacters(in: .whitespacesAndNewlines), "status, attempt_count")
        #expect(waited == ["retry", "0"] || waited == ["queued", "0"], "the job claimed ahead is back too: \(waited)")
        // --once on an empty queue returns.
        let once = try await runProcessAsync(RepositoryPaths.runtimeBinary, ["worker", "--queue", url, "--queues", queueName("empty"), "--once"])
        #expect(once.status == 0)
    }

    @Test func unknownTypesFailForGoodAndTemporaryFailuresAreRetried() async throws {
        let url = try TestServers.postgresURL()
        let q = queueName("failures")
        let unknown = try await runProcessAsync(RepositoryPaths.runtimeBinary, ["enqueue", "no-such-handler", "--queue", url, "--queue-name", q])
        let crash = try await runProcessAsync(RepositoryPaths.runtimeBinary, ["enqueue", "missing.sql", "--queue", url, "--queue-name", q,
                                                                              "--max-attempts", "3", "--retry-delay", "0"])
        let worker = try await runProcessAsync(RepositoryPaths.runtimeBinary, ["worker", "--queue", url, "--queues", q, "--burst"],
                                               environment: ["TASKSHIM_LOG_FORMAT": "json"])
        #expect(worker.status == 0, "\(worker.stderr)")
        let unknownRow = try await row(unknown.stdout.trimmingCharacters(in: .whitespacesAndNewlines), "status, attempt_count, error_text")
        #expect(unknownRow[0] == "failed" && unknownRow[1] == "1")
        #expect(unknownRow[2]?.contains("no-such-handler") == true)
        // A missing SQL file is "no input" (66): not retried either.
        let crashRow = try await row(crash.stdout.trimmingCharacters(in: .whitespacesAndNewlines), "status, attempt_count")
        #expect(crashRow == ["failed", "1"])
    }

    @Test func badInputAndAnUnreachableQueueAreClearErrors() async throws {
        let url = try TestServers.postgresURL()
        let notJSON = try await runProcessAsync(RepositoryPaths.runtimeBinary, ["enqueue", "echo", "--queue", url, "--payload", "[1,2"])
        #expect(notJSON.status == 64)
        #expect(notJSON.stderr.contains("--payload must be a JSON object"))
        let down = try await runProcessAsync(RepositoryPaths.runtimeBinary, ["worker", "--queue", "postgres://app:\(Canary.value)@127.0.0.1:\(closedPort())/db", "--burst"],
                                             environment: ["TASKSHIM_RETRY_BUDGET": "0", "TASKSHIM_LOG_FORMAT": "json"])
        #expect(down.status == 75, "\(down.stdout)\(down.stderr)")
        #expect((down.stdout + down.stderr).contains("Cannot connect to PostgreSQL"))
        let noQueue = try await runProcessAsync(RepositoryPaths.runtimeBinary, ["worker", "--burst"])
        #expect(noQueue.status == 78)
        #expect(noQueue.stderr.contains("No queue is configured"))
        let redis = try await runProcessAsync(RepositoryPaths.runtimeBinary, ["worker", "--queue", "redis://127.0.0.1/0", "--burst"])
        #expect(redis.status == 78)
    }
}
}
