import Foundation
import Testing
import TestSupport
import TaskShimClients
@testable import TaskShim

extension ProcessDrivingTests {
/// `runtime enqueue`, `runtime worker` and `runtime jobs` against the local PostgreSQL and Redis.
@Suite struct WorkerContractTests {
    func queueName(_ label: String) -> String { "\(label)-\(UUID().uuidString.prefix(8))" }

    @Test(arguments: QueueBackend.allCases) func enqueuedJobsAreRunByABurstWorkerWithTheirResultsKept(backend: QueueBackend) async throws {
        let url = try backend.url()
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
            let job = try await backend.job(id)
            #expect(job.status == .completed && job.attempt == 1)
            #expect(JSONValue.parse(job.result ?? Data())?.object?["n"] == .number(Double(n)))
        }
        #expect(!worker.stdout.contains(Canary.value) && !worker.stderr.contains(Canary.value), "the database password was printed")
    }

    @Test(arguments: QueueBackend.allCases) func aKilledWorkersJobIsRunAgainByAnotherWithItsAttemptCounted(backend: QueueBackend) async throws {
        let url = try backend.url()
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
        let job = try await backend.job(id)
        #expect(job.status == .completed && job.attempt == 2 && job.result == Data(#""slept""#.utf8))
    }

    @Test(arguments: QueueBackend.allCases) func sigtermReleasesARunningJobForTheNextWorker(backend: QueueBackend) async throws {
        let url = try backend.url()
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
        let job = try await backend.job(id)
        #expect(job.status == .retry && job.attempt == 0 && (job.availableAt ?? .distantFuture) <= Date(), "back, untried, available at once: \(job)")
        #expect(job.error?.contains("stopped") == true)
        let waited = try await backend.job(ahead.stdout)
        #expect(waited.status == .retry && waited.attempt == 0, "the job claimed ahead is back too: \(waited)")
        // --once on an empty queue returns.
        let once = try await runProcessAsync(RepositoryPaths.runtimeBinary, ["worker", "--queue", url, "--queues", queueName("empty"), "--once"])
        #expect(once.status == 0)
    }

    @Test(arguments: QueueBackend.allCases) func unknownTypesFailForGoodAndTemporaryFailuresAreRetried(backend: QueueBackend) async throws {
        let url = try backend.url()
        let q = queueName("failures")
        let unknown = try await runProcessAsync(RepositoryPaths.runtimeBinary, ["enqueue", "no-such-handler", "--queue", url, "--queue-name", q])
        let crash = try await runProcessAsync(RepositoryPaths.runtimeBinary, ["enqueue", "missing.sql", "--queue", url, "--queue-name", q,
                                                                              "--max-attempts", "3", "--retry-delay", "0"])
        let worker = try await runProcessAsync(RepositoryPaths.runtimeBinary, ["worker", "--queue", url, "--queues", q, "--burst"],
                                               environment: ["TASKSHIM_LOG_FORMAT": "json"])
        #expect(worker.status == 0, "\(worker.stderr)")
        let unknownJob = try await backend.job(unknown.stdout)
        #expect(unknownJob.status == .failed && unknownJob.attempt == 1)
        #expect(unknownJob.error?.contains("no-such-handler") == true)
        // A missing SQL file is "no input" (66): not retried either.
        let crashJob = try await backend.job(crash.stdout)
        #expect(crashJob.status == .failed && crashJob.attempt == 1)
        // Operations: the failed jobs through `runtime jobs`.
        let listed = try await runProcessAsync(RepositoryPaths.runtimeBinary, ["jobs", "list", "--queue", url, "--queue-name", q, "--status", "failed", "--json"])
        #expect(listed.status == 0, "\(listed.stderr)")
        let lines = listed.stdout.split(separator: "\n").compactMap { JSONValue.parse(Data($0.utf8))?.object }
        #expect(lines.count == 2 && lines.allSatisfy { $0["status"] == .string("failed") && $0["queue"] == .string(q) }, "\(listed.stdout)")
        let retried = try await runProcessAsync(RepositoryPaths.runtimeBinary, ["jobs", "retry", "--all-failed", "--queue", url, "--queue-name", q])
        #expect(retried.status == 0 && retried.stdout.contains("2 jobs back in the queue"), "\(retried.stdout)\(retried.stderr)")
        let stats = try await runProcessAsync(RepositoryPaths.runtimeBinary, ["jobs", "stats", "--queue", url, "--queue-name", q, "--json"])
        #expect(JSONValue.parse(Data(stats.stdout.utf8))?.object?["retry"] == .number(2), "\(stats.stdout)")
        let notFailed = try await runProcessAsync(RepositoryPaths.runtimeBinary, ["jobs", "retry", unknown.stdout.trimmingCharacters(in: .whitespacesAndNewlines), "--queue", url])
        #expect(notFailed.status == 65 && notFailed.stderr.contains("not a failed job"), "\(notFailed.stderr)")
        let missing = try await runProcessAsync(RepositoryPaths.runtimeBinary, ["jobs", "show", "9000000000000", "--queue", url])
        #expect(missing.status == 66 && missing.stderr.contains("no job 9000000000000"), "\(missing.stderr)")
    }

    @Test func aStoppedMaxJobsWorkerReleasesTheJobItClaimedAhead() async throws {
        let url = try TestServers.postgresURL()
        let q = queueName("max-jobs-stop")
        let added = try await runProcessAsync(RepositoryPaths.embeddedRuntimeBinary, ["enqueue", "sleep", "--queue", url, "--queue-name", q,
                                                                                      "--payload-lines", "-"], input: Data("{\"ms\":30000}\n{\"ms\":30000}\n".utf8))
        let ids = added.stdout.split(separator: "\n").map(String.init)
        // --max-jobs 2 with one slot: both claimed at once, the second waits in the buffer, the loop is done claiming.
        let worker = try BackgroundRuntime(environment: ["TASKSHIM_LOG_FORMAT": "json"],
                                           arguments: ["worker", "--queue", url, "--queues", q, "--max-jobs", "2", "--prefetch", "1"],
                                           executable: RepositoryPaths.embeddedRuntimeBinary)
        #expect(try await worker.waitForLog("sleeping"))
        worker.signal(SIGTERM)
        #expect(await worker.waitForExit(timeout: 20) == 0, "\(worker.stdout)")
        for id in ids {
            let job = try await QueueBackend.postgres.job(id)
            #expect(job.status == .retry && job.attempt == 0, "back at once, untried: \(job)")
        }
    }

    @Test(arguments: QueueBackend.allCases) func manyJobsAreAddedFromPayloadLines(backend: QueueBackend) async throws {
        let url = try backend.url()
        let q = queueName("lines")
        let lines = (1...1500).map { #"{"n":\#($0)}"# }.joined(separator: "\n") + "\n\n"
        let added = try await runProcessAsync(RepositoryPaths.runtimeBinary, ["enqueue", "echo", "--queue", url, "--queue-name", q, "--payload-lines", "-"],
                                              input: Data(lines.utf8))
        #expect(added.status == 0, "\(added.stderr)")
        let ids = added.stdout.split(separator: "\n").compactMap { Int64($0) }
        #expect(ids.count == 1500 && ids == ids.sorted(), "an id per line, in order (batches of 1,000)")
        let last = try await backend.job(String(ids[1499]))
        #expect(JSONValue.parse(last.payload)?.object?["n"] == .number(1500))
        let unique = try await runProcessAsync(RepositoryPaths.runtimeBinary, ["enqueue", "echo", "--queue", url, "--queue-name", q, "--payload-lines", "-",
                                                                               "--unique-key", "once"], input: Data("{}\n{}\n{}\n".utf8))
        #expect(unique.status == 0 && unique.stdout.split(separator: "\n").count == 1 && unique.stderr.contains("2 of 3 jobs not added"))
        let bad = try await runProcessAsync(RepositoryPaths.runtimeBinary, ["enqueue", "echo", "--queue", url, "--queue-name", q, "--payload-lines", "-"],
                                            input: Data("{}\n[1]\n".utf8))
        #expect(bad.status == 65 && bad.stderr.contains("Line 2 of stdin is not a JSON object"), "\(bad.stderr)")
        let stats = try await backend.open().stats(queue: q)
        #expect(stats.queued == 1501, "the bad file added nothing")
    }

    @Test(arguments: QueueBackend.allCases) func finishedJobsPastTheirRetentionAreDeleted(backend: QueueBackend) async throws {
        let url = try backend.url()
        let q = queueName("retention")
        let old = try await runProcessAsync(RepositoryPaths.runtimeBinary, ["enqueue", "echo", "--queue", url, "--queue-name", q])
        let first = try await runProcessAsync(RepositoryPaths.runtimeBinary, ["worker", "--queue", url, "--queues", q, "--burst"])
        let finished = try await backend.job(old.stdout)
        #expect(first.status == 0 && finished.status == .completed)
        try await Task.sleep(for: .milliseconds(1500))
        let fresh = try await runProcessAsync(RepositoryPaths.runtimeBinary, ["enqueue", "echo", "--queue", url, "--queue-name", q])
        let second = try await runProcessAsync(RepositoryPaths.runtimeBinary, ["worker", "--queue", url, "--queues", q, "--burst"],
                                               environment: ["TASKSHIM_QUEUE_KEEP_COMPLETED": "1s", "TASKSHIM_LOG_FORMAT": "json"])
        #expect(second.status == 0 && second.stdout.contains("old jobs deleted"), "\(second.stdout)")
        let queue = try await backend.open()
        #expect(try await queue.job(Int64(old.stdout.trimmingCharacters(in: .whitespacesAndNewlines))!) == nil, "past 1 s: deleted")
        let kept = try await backend.job(fresh.stdout)
        #expect(kept.status == .completed, "finished after the pruning at start: kept")
        let bad = try await runProcessAsync(RepositoryPaths.runtimeBinary, ["worker", "--queue", url, "--queues", q, "--burst"],
                                            environment: ["TASKSHIM_QUEUE_KEEP_FAILED": "a while"])
        #expect(bad.status == 78 && bad.stderr.contains("TASKSHIM_QUEUE_KEEP_FAILED"), "\(bad.stderr)")
    }

    @Test func aWorkerServesTheRagonometricsTableFedByItsOwnEnqueuer() async throws {
        let url = try TestServers.postgresURL()
        let database = try await RagonometricsTable.create()
        let q = queueName("ragonometrics")
        // The Python side's enqueue, as it is today.
        let ids = try await database.all("""
            INSERT INTO workflow.async_jobs (queue_name, job_type, payload_json) VALUES (:q, 'echo', '{"paper": 7}'), (:q, 'missing.sql', '{}')
            RETURNING job_id
            """, parameters: ["q": .text(q)]).compactMap { $0[0] }
        let environment = ["TASKSHIM_QUEUE_TABLE": "workflow.async_jobs", "TASKSHIM_LOG_FORMAT": "json"]
        let worker = try await runProcessAsync(RepositoryPaths.runtimeBinary, ["worker", "--queue", url, "--queues", q, "--burst"], environment: environment)
        #expect(worker.status == 0 && worker.stdout.contains("table workflow.async_jobs"), "\(worker.stdout)\(worker.stderr)")
        let rows = try await database.all("SELECT status, result_json::text, error_text IS NOT NULL FROM workflow.async_jobs WHERE job_id = ANY(string_to_array(:ids, ',')::bigint[]) ORDER BY job_id",
                                          parameters: ["ids": .text(ids.joined(separator: ","))]).map(\.values)
        #expect(rows == [["completed", #"{"paper": 7}"#, "f"], ["failed", nil, "t"]], "\(rows)")
        let listed = try await runProcessAsync(RepositoryPaths.runtimeBinary, ["jobs", "stats", "--queue", url, "--queue-name", q, "--json"], environment: environment)
        #expect(listed.stdout.contains(#""completed":1"#) && listed.stdout.contains(#""failed":1"#), "\(listed.stdout)\(listed.stderr)")
        let unique = try await runProcessAsync(RepositoryPaths.runtimeBinary, ["enqueue", "echo", "--queue", url, "--unique-key", "k"], environment: environment)
        #expect(unique.status == 64 && unique.stderr.contains("no column for --unique-key"), "\(unique.stderr)")
        let redis = try await runProcessAsync(RepositoryPaths.runtimeBinary, ["jobs", "stats", "--queue", try TestServers.redisURL()], environment: environment)
        #expect(redis.status == 78 && redis.stderr.contains("TASKSHIM_QUEUE_TABLE applies to PostgreSQL"))
    }

    @Test(arguments: [QueueBackend.postgres, .redis]) func anIdleWorkerIsToldOfNewJobsInsteadOfPolling(backend: QueueBackend) async throws {
        let url = try backend.url()
        let q = queueName("notify")
        let worker = try BackgroundRuntime(environment: ["TASKSHIM_LOG_FORMAT": "json", "LOG_LEVEL": "debug"],
                                           arguments: ["worker", "--queue", url, "--queues", q, "--poll-seconds", "60"])
        #expect(try await worker.waitForLog("listening for new jobs"))
        let added = try await runProcessAsync(RepositoryPaths.runtimeBinary, ["enqueue", "echo", "--queue", url, "--queue-name", q])
        let start = ContinuousClock.now
        var status = JobStatus.queued
        while status != .completed && ContinuousClock.now - start < .seconds(10) {
            try await Task.sleep(for: .milliseconds(20))
            status = try await backend.job(added.stdout).status
        }
        #expect(status == .completed && ContinuousClock.now - start < .seconds(5), "run long before the 60 s poll: \(ContinuousClock.now - start)")
        worker.signal(SIGTERM)
        #expect(await worker.waitForExit(timeout: 20) == 0)
    }

    @Test func aWorkerTakesJobsFromRedisOverTLS() async throws {
        let certificate = try SelfSignedCertificate()
        let server = try await PrivateRedisServer(tls: certificate)
        let url = server.tlsURL(host: "localhost")
        let trusted = ["TASKSHIM_CA_FILE": certificate.certificate, "TASKSHIM_LOG_FORMAT": "json"]
        let added = try await runProcessAsync(RepositoryPaths.runtimeBinary, ["enqueue", "echo", "--queue", url, "--payload-lines", "-"],
                                              environment: trusted, input: Data("{\"n\":1}\n{\"n\":2}\n".utf8))
        #expect(added.status == 0, "\(added.stderr)")
        let worker = try await runProcessAsync(RepositoryPaths.runtimeBinary, ["worker", "--queue", url, "--burst"], environment: trusted)
        #expect(worker.status == 0 && worker.stdout.contains(#""queue":"rediss localhost:"#) && worker.stdout.contains(#""jobs":2"#), "\(worker.stdout)")
        let untrusted = try await runProcessAsync(RepositoryPaths.runtimeBinary, ["jobs", "stats", "--queue", url])
        #expect(untrusted.status == 78 && untrusted.stderr.contains("is not trusted"), "\(untrusted.stderr)")
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
        // No queue configured: the embedded SQLite file under .taskshim/ of the working directory.
        let directory = try TemporaryDirectory()
        let embedded = try await runProcessAsync(RepositoryPaths.runtimeBinary, ["enqueue", "echo"], directory: directory.path)
        let local = try await runProcessAsync(RepositoryPaths.runtimeBinary, ["worker", "--burst"], environment: ["TASKSHIM_LOG_FORMAT": "json"],
                                              directory: directory.path)
        #expect(embedded.status == 0 && local.status == 0, "\(embedded.stderr)\(local.stderr)")
        #expect(local.stdout.contains(#""queue":"sqlite .taskshim/queue.db""#) && local.stdout.contains(#""jobs":1"#), "\(local.stdout)")
        #expect(FileManager.default.fileExists(atPath: directory.file(".taskshim/queue.db")))
        let redisDown = try await runProcessAsync(RepositoryPaths.runtimeBinary, ["worker", "--queue", "redis://:\(Canary.value)@127.0.0.1:\(closedPort())/0", "--burst"],
                                                  environment: ["TASKSHIM_RETRY_BUDGET": "0", "TASKSHIM_LOG_FORMAT": "json"])
        #expect(redisDown.status == 75, "\(redisDown.stdout)\(redisDown.stderr)")
        #expect((redisDown.stdout + redisDown.stderr).contains("Cannot connect to Redis"))
        let unknown = try await runProcessAsync(RepositoryPaths.runtimeBinary, ["worker", "--queue", "amqp://broker/", "--burst"])
        #expect(unknown.status == 78 && unknown.stderr.contains("not a queue backend"), "\(unknown.stderr)")
        let badAge = try await runProcessAsync(RepositoryPaths.runtimeBinary, ["jobs", "purge", "--queue", "redis://127.0.0.1/0", "--older-than", "soon"])
        #expect(badAge.status == 64 && badAge.stderr.contains("--older-than takes an age"))
    }
}
}
