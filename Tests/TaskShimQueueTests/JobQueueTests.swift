import Foundation
import Testing
import TestSupport
@testable import TaskShimClients
@testable import TaskShimCore
@testable import TaskShimQueue

/// Every backend against the local servers of scripts/test; each test uses a queue name of its own.
struct JobQueueTests {

    func name(_ label: String) -> String { "\(label)-\(UUID().uuidString.prefix(8))" }

    func payload(_ n: Int) -> Data { Data(#"{"n":\#(n)}"#.utf8) }

    @Test(arguments: QueueBackend.allCases) func jobsAreClaimedInOrderAndCompletedWithTheirResult(backend: QueueBackend) async throws {
        let jobs = try await backend.open()
        let q = name("order")
        var ids: [Int64] = []
        for n in 0..<3 { ids.append(try #require(try await jobs.enqueue(NewJob(queue: q, type: "echo", payload: payload(n))))) }
        let urgent = try #require(try await jobs.enqueue(NewJob(queue: q, type: "echo", payload: payload(9), priority: 5)))
        let first = try await jobs.claim(queues: [q], worker: "w1", limit: 2, lease: .seconds(30))
        #expect(first.map(\.id) == [urgent, ids[0]], "priority first, then the oldest, in that order")
        #expect(first.allSatisfy { $0.attempt == 1 && $0.type == "echo" && $0.queue == q })
        for job in first { #expect(try await jobs.complete(job, worker: "w1", result: Data(#"{"ok":true}"#.utf8))) }
        var stats = try await jobs.stats(queue: q)
        #expect(stats.completed == 2 && stats.queued == 2)
        let rest = try await jobs.claim(queues: [q, name("other")], worker: "w1", limit: 10, lease: .seconds(30))
        #expect(rest.map(\.id) == [ids[1], ids[2]])
        #expect(rest.map { JSONValue.parse($0.payload)?.object?["n"] } == [.number(1), .number(2)])
        stats = try await jobs.stats(queue: q)
        #expect(stats.running == 2)
    }

    @Test(arguments: QueueBackend.allCases) func concurrentClaimersNeverShareAJob(backend: QueueBackend) async throws {
        let setup = try await backend.open()
        let q = name("skip-locked")
        var all: Set<Int64> = []
        for n in 0..<200 { all.insert(try #require(try await setup.enqueue(NewJob(queue: q, type: "echo", payload: payload(n))))) }
        let claimed = try await withThrowingTaskGroup(of: [Int64].self) { group in
            for w in 0..<4 {
                group.addTask {
                    let mine = try await backend.open()  // connections of its own
                    var ids: [Int64] = []
                    while true {
                        let batch = try await mine.claim(queues: [q], worker: "w\(w)", limit: 7, lease: .seconds(30))
                        if batch.isEmpty { return ids }
                        ids += batch.map(\.id)
                        // A pause, so a fast backend does not let the first claimer take everything.
                        try await Task.sleep(for: .milliseconds(2))
                    }
                }
            }
            var lists: [[Int64]] = []
            for try await list in group { lists.append(list) }
            return lists
        }
        let flat = claimed.flatMap { $0 }
        #expect(flat.count == 200, "every job claimed once")
        #expect(Set(flat) == all)
        #expect(claimed.filter { !$0.isEmpty }.count > 1, "the claimers shared the work")
    }

    @Test(arguments: QueueBackend.allCases) func failedTriesAreRetriedThenKeptAsFailedWithTheirError(backend: QueueBackend) async throws {
        let jobs = try await backend.open()
        let q = name("retries")
        let id = try #require(try await jobs.enqueue(NewJob(queue: q, type: "flaky", maxAttempts: 2, retryDelaySeconds: 0)))
        let first = try #require(try await jobs.claim(queues: [q], worker: "w", limit: 1, lease: .seconds(30)).first)
        #expect(try await jobs.fail(first, worker: "w", error: "temporary: down", retryable: true) == .retry)
        let second = try #require(try await jobs.claim(queues: [q], worker: "w", limit: 1, lease: .seconds(30)).first)
        #expect(second.id == id && second.attempt == 2)
        #expect(try await jobs.fail(second, worker: "w", error: "temporary: still down", retryable: true) == .failed, "out of tries")
        #expect(try await jobs.claim(queues: [q], worker: "w", limit: 1, lease: .seconds(30)).isEmpty)
        let record = try #require(try await jobs.job(id))
        #expect(record.status == .failed && record.error == "temporary: still down" && record.attempt == 2 && record.finishedAt != nil)

        let bad = try #require(try await jobs.enqueue(NewJob(queue: q, type: "broken", maxAttempts: 5)))
        let job = try #require(try await jobs.claim(queues: [q], worker: "w", limit: 1, lease: .seconds(30)).first)
        #expect(job.id == bad)
        #expect(try await jobs.fail(job, worker: "w", error: "data: bad payload", retryable: false) == .failed, "not retried")
    }

    @Test(arguments: QueueBackend.allCases) func aDeadWorkersJobIsRescuedAndItsLateAnswerIgnored(backend: QueueBackend) async throws {
        let jobs = try await backend.open()
        let q = name("rescue")
        let id = try #require(try await jobs.enqueue(NewJob(queue: q, type: "echo")))
        let lost = try #require(try await jobs.claim(queues: [q], worker: "dead", limit: 1, lease: .seconds(1)).first)
        #expect(try await jobs.claim(queues: [q], worker: "alive", limit: 1, lease: .seconds(30)).isEmpty, "leased")
        try await Task.sleep(for: .milliseconds(1300))
        #expect(try await jobs.rescue(queues: [q], lease: .seconds(1)) == 1)
        let again = try #require(try await jobs.claim(queues: [q], worker: "alive", limit: 1, lease: .seconds(30)).first)
        #expect(again.id == id && again.attempt == 2, "the attempt is counted")
        #expect(try await jobs.complete(lost, worker: "dead", result: Data("{}".utf8)) == false, "the dead worker's late answer is fenced off")
        #expect(try await jobs.complete(again, worker: "alive", result: Data("{}".utf8)))
    }

    @Test(arguments: QueueBackend.allCases) func heartbeatsKeepALongJobLeased(backend: QueueBackend) async throws {
        let jobs = try await backend.open()
        let q = name("heartbeat")
        _ = try await jobs.enqueue(NewJob(queue: q, type: "echo"))
        let job = try #require(try await jobs.claim(queues: [q], worker: "w", limit: 1, lease: .seconds(1)).first)
        for _ in 0..<3 {
            try await Task.sleep(for: .milliseconds(500))
            try await jobs.heartbeat([job.id], worker: "w", lease: .seconds(1))
        }
        _ = try await jobs.rescue(queues: [q], lease: .seconds(1))
        #expect(try await jobs.stats(queue: q).running == 1, "renewed: not rescued after 1.5 s of a 1 s lease")
        #expect(try await jobs.complete(job, worker: "w", result: Data("{}".utf8)))
    }

    @Test(arguments: QueueBackend.allCases) func aUniqueKeyAddsAJobOnceWhileItWaitsOrRuns(backend: QueueBackend) async throws {
        let jobs = try await backend.open()
        let q = name("unique")
        let first = try await jobs.enqueue(NewJob(queue: q, type: "echo", uniqueKey: "nightly-2026-12-01"))
        #expect(first != nil)
        #expect(try await jobs.enqueue(NewJob(queue: q, type: "echo", uniqueKey: "nightly-2026-12-01")) == nil)
        let job = try #require(try await jobs.claim(queues: [q], worker: "w", limit: 1, lease: .seconds(30)).first)
        #expect(try await jobs.enqueue(NewJob(queue: q, type: "echo", uniqueKey: "nightly-2026-12-01")) == nil, "still running")
        _ = try await jobs.complete(job, worker: "w", result: Data("{}".utf8))
        #expect(try await jobs.enqueue(NewJob(queue: q, type: "echo", uniqueKey: "nightly-2026-12-01")) != nil, "done: may run again")
    }

    @Test func aResultPostgresRefusesIsADataError() async throws {
        let jobs = try await QueueBackend.postgres.open()
        let q = name("refused")
        _ = try await jobs.enqueue(NewJob(queue: q, type: "echo"))
        let job = try #require(try await jobs.claim(queues: [q], worker: "w", limit: 1, lease: .seconds(30)).first)
        do {
            _ = try await jobs.complete(job, worker: "w", result: Data(#""nul \u0000 inside""#.utf8))
            Issue.record("jsonb accepted \\u0000")
        } catch {
            #expect((error as? TaskShimError)?.status == .dataError, "\(error)")
        }
        #expect(try await jobs.complete(job, worker: "w", result: Data(#""fine""#.utf8)))
    }

    @Test(arguments: QueueBackend.allCases) func aDelayedJobWaitsItsTurn(backend: QueueBackend) async throws {
        let jobs = try await backend.open()
        let q = name("delay")
        let enqueued = ContinuousClock.now
        _ = try await jobs.enqueue(NewJob(queue: q, type: "echo", delaySeconds: 6))
        // Not before its time (checked while well inside it, however slow a loaded machine is)...
        let early = try await jobs.claim(queues: [q], worker: "w", limit: 1, lease: .seconds(30))
        if enqueued.duration(to: .now) < .seconds(5) { #expect(early.isEmpty) }
        // ...and claimable once it has come.
        try await Task.sleep(until: enqueued.advanced(by: .milliseconds(6500)), clock: .continuous)
        #expect(early.count + (try await jobs.claim(queues: [q], worker: "w", limit: 1, lease: .seconds(30)).count) == 1)
    }

    @Test(arguments: QueueBackend.allCases) func jobsCanBeListedShownRetriedAndPurged(backend: QueueBackend) async throws {
        let jobs = try await backend.open()
        let q = name("ops")
        let done = try #require(try await jobs.enqueue(NewJob(queue: q, type: "echo", payload: payload(1))))
        let broken = try #require(try await jobs.enqueue(NewJob(queue: q, type: "broken", payload: payload(2), uniqueKey: "k")))
        let waiting = try #require(try await jobs.enqueue(NewJob(queue: q, type: "echo", payload: payload(3), delaySeconds: 60)))
        let claimed = try await jobs.claim(queues: [q], worker: "w", limit: 2, lease: .seconds(30))
        #expect(claimed.map(\.id) == [done, broken])
        #expect(try await jobs.complete(claimed[0], worker: "w", result: Data(#"{"ok":1}"#.utf8)))
        #expect(try await jobs.fail(claimed[1], worker: "w", error: "data: no such table", retryable: false) == .failed)

        #expect(try await jobs.list(queue: q, status: nil, limit: 10).map(\.id) == [waiting, broken, done], "newest first")
        #expect(try await jobs.list(queue: q, status: .failed, limit: 10).map(\.id) == [broken])
        #expect(try await jobs.list(queue: q, status: .queued, limit: 10).map(\.id) == [waiting])
        #expect(try await jobs.list(queue: q, status: nil, limit: 2).count == 2)
        let shown = try #require(try await jobs.job(done))
        #expect(shown.status == .completed && shown.queue == q && shown.type == "echo" && shown.attempt == 1 && shown.workerID == "w")
        #expect(JSONValue.parse(shown.result ?? Data())?.object?["ok"] == .number(1))
        #expect(try await jobs.job(Int64.max - 1) == nil)

        // A failed job goes back with its tries counted anew, holding its unique key again.
        #expect(try await jobs.retry(id: broken, queue: nil) == 1)
        #expect(try await jobs.retry(id: broken, queue: nil) == 0, "no longer failed")
        #expect(try await jobs.enqueue(NewJob(queue: q, type: "broken", uniqueKey: "k")) == nil, "the key is held again")
        let again = try #require(try await jobs.claim(queues: [q], worker: "w", limit: 1, lease: .seconds(30)).first)
        #expect(again.id == broken && again.attempt == 1)
        #expect(try await jobs.fail(again, worker: "w", error: "data: still", retryable: false) == .failed)
        #expect(try await jobs.retry(id: nil, queue: q) == 1, "every failed job of the queue")
        var stats = try await jobs.stats(queue: q)
        #expect(stats.retry == 1 && stats.completed == 1 && stats.queued == 1 && stats.failed == 0)

        // Failed jobs sharing a unique key: only one goes back (the key admits one), the rest stay failed.
        let q2 = name("ops-unique")
        for _ in 0..<2 {
            _ = try await jobs.enqueue(NewJob(queue: q2, type: "broken", uniqueKey: "same"))
            let job = try #require(try await jobs.claim(queues: [q2], worker: "w", limit: 1, lease: .seconds(30)).first)
            #expect(try await jobs.fail(job, worker: "w", error: "data: bad", retryable: false) == .failed)
        }
        #expect(try await jobs.retry(id: nil, queue: q2) == 1)
        let unique = try await jobs.stats(queue: q2)
        #expect(unique.retry == 1 && unique.failed == 1, "\(unique)")
        // A try no longer the worker's is ignored, not recorded.
        #expect(try await jobs.fail(claimed[0], worker: "someone-else", error: "late", retryable: true) == .ignored)

        // Purge deletes finished jobs only, by finish time.
        #expect(try await jobs.purge(queue: q, status: nil, before: Date().addingTimeInterval(-3600)) == 0, "finished just now")
        #expect(try await jobs.purge(queue: q, status: nil, before: Date().addingTimeInterval(5)) == 1)
        #expect(try await jobs.job(done) == nil)
        stats = try await jobs.stats(queue: q)
        #expect(stats.completed == 0 && stats.retry == 1 && stats.queued == 1)
        await #expect(throws: TaskShimError.self) { try await jobs.purge(queue: q, status: .running, before: Date()) }
    }

    @Test(arguments: QueueBackend.allCases) func aReleasedJobIsBackAtOnceWithItsAttemptNotCounted(backend: QueueBackend) async throws {
        let jobs = try await backend.open()
        let q = name("release")
        let id = try #require(try await jobs.enqueue(NewJob(queue: q, type: "echo")))
        let job = try #require(try await jobs.claim(queues: [q], worker: "stopping", limit: 1, lease: .seconds(30)).first)
        try await jobs.release(job, worker: "stopping")
        let next = try #require(try await jobs.claim(queues: [q], worker: "next", limit: 1, lease: .seconds(30)).first)
        #expect(next.id == id && next.attempt == 1)
        #expect(try await jobs.complete(job, worker: "stopping", result: Data("{}".utf8)) == false, "released: no longer the stopping worker's")
    }

    @Test(arguments: QueueBackend.allCases) func retryDelaysGrowLinearlyOrDoubleWithJitter(backend: QueueBackend) async throws {
        let jobs = try await backend.open()
        let q = name("backoff")
        /// The delay the queue gave the job after failing `job` (seconds from just before the failure).
        func delay(after job: Job) async throws -> Double {
            let before = Date()
            #expect(try await jobs.fail(job, worker: "w", error: "temporary: down", retryable: true) == .retry)
            let record = try #require(try await jobs.job(job.id))
            return try #require(record.availableAt).timeIntervalSince(before)
        }
        let linear = try #require(try await jobs.enqueue(NewJob(queue: q, type: "echo", retryDelaySeconds: 4)))
        let first = try #require(try await jobs.claim(queues: [q], worker: "w", limit: 1, lease: .seconds(30)).first)
        #expect(first.id == linear)
        let linearDelay = try await delay(after: first)
        #expect(linearDelay > 3.8 && linearDelay < 4.5, "4 s × attempt 1: \(linearDelay)")

        let q2 = name("backoff-exp")
        let exponential = try #require(try await jobs.enqueue(NewJob(queue: q2, type: "echo", retryDelaySeconds: 1, backoff: .exponential)))
        let try1 = try #require(try await jobs.claim(queues: [q2], worker: "w", limit: 1, lease: .seconds(30)).first)
        let firstDelay = try await delay(after: try1)
        #expect(firstDelay > 0.4 && firstDelay < 1.2, "1 s × 2^0 × 50-100 %: \(firstDelay)")
        try await Task.sleep(for: .seconds(firstDelay + 0.1))
        let try2 = try #require(try await jobs.claim(queues: [q2], worker: "w", limit: 1, lease: .seconds(30)).first)
        #expect(try2.id == exponential && try2.attempt == 2)
        let secondDelay = try await delay(after: try2)
        #expect(secondDelay > 0.9 && secondDelay < 2.2, "1 s × 2^1 × 50-100 %: \(secondDelay)")
    }

    @Test func theRagonometricsTableIsUsedAsItIs() async throws {
        let database = try await RagonometricsTable.create()
        let jobs = try SQLJobQueue.postgres(url: try TestServers.postgresURL(), table: "workflow.async_jobs")
        try await jobs.migrate()
        let q = name("compat")
        // Their enqueuer: a plain INSERT.
        let theirs = try #require(try await database.all("""
            INSERT INTO workflow.async_jobs (queue_name, job_type, payload_json) VALUES (:q, 'echo', '{"n": 1}') RETURNING job_id
            """, parameters: ["q": .text(q)]).first?[0].flatMap { Int64($0) })
        let ours = try #require(try await jobs.enqueue(NewJob(queue: q, type: "echo", payload: payload(2))))
        let claimed = try await jobs.claim(queues: [q], worker: "w", limit: 5, lease: .seconds(4))
        #expect(claimed.map(\.id) == [theirs, ours])
        #expect(try await jobs.complete(claimed[0], worker: "w", result: Data(#"{"done":1}"#.utf8)))
        // No lease column: the lease is locked_at, renewed by heartbeats; past it, the rescuer takes the job.
        // (Wide margins: a loaded machine only lengthens the waits, which the first check tolerates by 2 s.)
        try await Task.sleep(for: .milliseconds(2500))
        try await jobs.heartbeat([ours], worker: "w", lease: .seconds(4))
        try await Task.sleep(for: .milliseconds(2000))
        #expect(try await jobs.rescue(queues: [q], lease: .seconds(4)) == 0, "claimed over 4 s ago, renewed 2 s ago")
        try await Task.sleep(for: .milliseconds(2500))
        #expect(try await jobs.rescue(queues: [q], lease: .seconds(4)) == 1)
        let row = try #require(try await database.all("SELECT status, result_json::text, attempt_count FROM workflow.async_jobs WHERE job_id = :id",
                                                      parameters: ["id": .integer(theirs)]).first)
        #expect(row.values == ["completed", #"{"done": 1}"#, "1"])
        let record = try #require(try await jobs.job(ours))
        #expect(record.status == .retry && record.error?.contains("stopped renewing") == true)
        #expect(try await jobs.stats(queue: q).completed == 1)
        await #expect(throws: TaskShimError.self) { _ = try await jobs.enqueue(NewJob(queue: q, type: "echo", uniqueKey: "k")) }

        // A table that is not there, or lacks columns, or a name that is not one: clear configuration errors.
        await #expect(throws: TaskShimError.self) { try await SQLJobQueue.postgres(url: try TestServers.postgresURL(), table: "workflow.nope").migrate() }
        do {
            try await SQLJobQueue.postgres(url: try TestServers.postgresURL(), table: "workflow.thin").migrate()
            Issue.record("a table without the columns was accepted")
        } catch let error as TaskShimError {
            #expect(error.status == .configuration && error.message.contains("lacks the columns queue_name, status"), "\(error)")
        }
        #expect(throws: TaskShimError.self) { _ = try SQLJobQueue.postgres(url: "postgres://x/y", table: "jobs; DROP TABLE x") }
    }
}
