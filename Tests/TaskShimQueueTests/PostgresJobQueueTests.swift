import Foundation
import Testing
import TestSupport
@testable import TaskShimClients
@testable import TaskShimCore
@testable import TaskShimQueue

/// Against the local PostgreSQL of scripts/test; each test uses a queue name of its own.
struct PostgresJobQueueTests {
    func queue() async throws -> PostgresJobQueue {
        let queue = PostgresJobQueue(url: try TestServers.postgresURL())
        try await queue.migrate()
        return queue
    }

    func name(_ label: String) -> String { "\(label)-\(UUID().uuidString.prefix(8))" }

    func payload(_ n: Int) -> Data { Data(#"{"n":\#(n)}"#.utf8) }

    @Test func jobsAreClaimedInOrderAndCompletedWithTheirResult() async throws {
        let jobs = try await queue()
        let q = name("order")
        var ids: [Int64] = []
        for n in 0..<3 { ids.append(try #require(try await jobs.enqueue(NewJob(queue: q, type: "echo", payload: payload(n))))) }
        let urgent = try #require(try await jobs.enqueue(NewJob(queue: q, type: "echo", payload: payload(9), priority: 5)))
        let first = try await jobs.claim(queues: [q], worker: "w1", limit: 2, lease: .seconds(30))
        #expect(Set(first.map(\.id)) == [urgent, ids[0]], "priority first, then the oldest")
        #expect(first.allSatisfy { $0.attempt == 1 && $0.type == "echo" && $0.queue == q })
        for job in first { #expect(try await jobs.complete(job, worker: "w1", result: Data(#"{"ok":true}"#.utf8))) }
        var stats = try await jobs.stats(queue: q)
        #expect(stats.completed == 2 && stats.queued == 2)
        let rest = try await jobs.claim(queues: [q, name("other")], worker: "w1", limit: 10, lease: .seconds(30))
        #expect(rest.map(\.id) == [ids[1], ids[2]])
        #expect(rest.map { String(decoding: $0.payload, as: UTF8.self) } == [#"{"n": 1}"#, #"{"n": 2}"#])
        stats = try await jobs.stats(queue: q)
        #expect(stats.running == 2)
    }

    @Test func concurrentClaimersNeverShareAJob() async throws {
        let setup = try await queue()
        let q = name("skip-locked")
        var all: Set<Int64> = []
        for n in 0..<200 { all.insert(try #require(try await setup.enqueue(NewJob(queue: q, type: "echo", payload: payload(n))))) }
        let claimed = try await withThrowingTaskGroup(of: [Int64].self) { group in
            for w in 0..<4 {
                group.addTask {
                    let mine = PostgresJobQueue(url: try TestServers.postgresURL())  // a connection each
                    var ids: [Int64] = []
                    while true {
                        let batch = try await mine.claim(queues: [q], worker: "w\(w)", limit: 7, lease: .seconds(30))
                        if batch.isEmpty { return ids }
                        ids += batch.map(\.id)
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

    @Test func failedTriesAreRetriedThenKeptAsFailedWithTheirError() async throws {
        let jobs = try await queue()
        let q = name("retries")
        let id = try #require(try await jobs.enqueue(NewJob(queue: q, type: "flaky", maxAttempts: 2, retryDelaySeconds: 0)))
        let first = try #require(try await jobs.claim(queues: [q], worker: "w", limit: 1, lease: .seconds(30)).first)
        #expect(try await jobs.fail(first, worker: "w", error: "temporary: down", retryable: true) == .retry)
        let second = try #require(try await jobs.claim(queues: [q], worker: "w", limit: 1, lease: .seconds(30)).first)
        #expect(second.id == id && second.attempt == 2)
        #expect(try await jobs.fail(second, worker: "w", error: "temporary: still down", retryable: true) == .failed, "out of tries")
        #expect(try await jobs.claim(queues: [q], worker: "w", limit: 1, lease: .seconds(30)).isEmpty)
        let database = try await PostgresConnection.connect(url: try TestServers.postgresURL())
        let row = try #require(try await database.all("SELECT status, error_text, attempt_count FROM taskshim_jobs WHERE job_id = :id",
                                                      parameters: ["id": .integer(id)]).first)
        #expect(row.values == ["failed", "temporary: still down", "2"])

        let bad = try #require(try await jobs.enqueue(NewJob(queue: q, type: "broken", maxAttempts: 5)))
        let job = try #require(try await jobs.claim(queues: [q], worker: "w", limit: 1, lease: .seconds(30)).first)
        #expect(job.id == bad)
        #expect(try await jobs.fail(job, worker: "w", error: "data: bad payload", retryable: false) == .failed, "not retried")
    }

    @Test func aDeadWorkersJobIsRescuedAndItsLateAnswerIgnored() async throws {
        let jobs = try await queue()
        let q = name("rescue")
        let id = try #require(try await jobs.enqueue(NewJob(queue: q, type: "echo")))
        let lost = try #require(try await jobs.claim(queues: [q], worker: "dead", limit: 1, lease: .seconds(1)).first)
        #expect(try await jobs.claim(queues: [q], worker: "alive", limit: 1, lease: .seconds(30)).isEmpty, "leased")
        try await Task.sleep(for: .milliseconds(1300))
        #expect(try await jobs.rescue(queues: [q]) == 1)
        let again = try #require(try await jobs.claim(queues: [q], worker: "alive", limit: 1, lease: .seconds(30)).first)
        #expect(again.id == id && again.attempt == 2, "the attempt is counted")
        #expect(try await jobs.complete(lost, worker: "dead", result: Data("{}".utf8)) == false, "the dead worker's late answer is fenced off")
        #expect(try await jobs.complete(again, worker: "alive", result: Data("{}".utf8)))
    }

    @Test func heartbeatsKeepALongJobLeased() async throws {
        let jobs = try await queue()
        let q = name("heartbeat")
        _ = try await jobs.enqueue(NewJob(queue: q, type: "echo"))
        let job = try #require(try await jobs.claim(queues: [q], worker: "w", limit: 1, lease: .seconds(1)).first)
        for _ in 0..<3 {
            try await Task.sleep(for: .milliseconds(500))
            try await jobs.heartbeat([job.id], worker: "w", lease: .seconds(1))
        }
        _ = try await jobs.rescue(queues: [q])
        #expect(try await jobs.stats(queue: q).running == 1, "renewed: not rescued after 1.5 s of a 1 s lease")
        #expect(try await jobs.complete(job, worker: "w", result: Data("{}".utf8)))
    }

    @Test func aUniqueKeyAddsAJobOnceWhileItWaitsOrRuns() async throws {
        let jobs = try await queue()
        let q = name("unique")
        let first = try await jobs.enqueue(NewJob(queue: q, type: "echo", uniqueKey: "nightly-2026-12-01"))
        #expect(first != nil)
        #expect(try await jobs.enqueue(NewJob(queue: q, type: "echo", uniqueKey: "nightly-2026-12-01")) == nil)
        let job = try #require(try await jobs.claim(queues: [q], worker: "w", limit: 1, lease: .seconds(30)).first)
        #expect(try await jobs.enqueue(NewJob(queue: q, type: "echo", uniqueKey: "nightly-2026-12-01")) == nil, "still running")
        _ = try await jobs.complete(job, worker: "w", result: Data("{}".utf8))
        #expect(try await jobs.enqueue(NewJob(queue: q, type: "echo", uniqueKey: "nightly-2026-12-01")) != nil, "done: may run again")
    }

    @Test func aResultTheDatabaseRefusesIsADataError() async throws {
        let jobs = try await queue()
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

    @Test func aDelayedJobWaitsItsTurn() async throws {
        let jobs = try await queue()
        let q = name("delay")
        _ = try await jobs.enqueue(NewJob(queue: q, type: "echo", delaySeconds: 1))
        #expect(try await jobs.claim(queues: [q], worker: "w", limit: 1, lease: .seconds(30)).isEmpty)
        try await Task.sleep(for: .milliseconds(1200))
        #expect(try await jobs.claim(queues: [q], worker: "w", limit: 1, lease: .seconds(30)).count == 1)
    }
}
