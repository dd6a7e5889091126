import Foundation
import Testing
import TestSupport
@testable import TaskShimQueue

extension ProcessDrivingTests {
/// At-least-once under fire: 10,000 jobs run by several worker processes while workers are SIGKILLed
/// and the queue's server crashes and restarts (a server of the test's own; SQLite has none).
@Suite struct QueueFaultTests {
    /// The server the test crashes: PostgreSQL or Redis of its own.
    struct Server {
        let url: String
        let restart: () async throws -> Void
    }

    func server(_ backend: QueueBackend) async throws -> (Server, AnyObject) {
        switch backend {
        case .postgres:
            let postgres = try await PrivatePostgresServer()
            return (Server(url: postgres.url, restart: { try await postgres.restart(after: .milliseconds(300)) }), postgres)
        case .redis:
            let redis = try await PrivateRedisServer()
            return (Server(url: redis.url, restart: { try await redis.restart(after: .milliseconds(300)) }), redis)
        case .sqlite:
            // No server: the crashes that matter are the workers', killed inside their transactions.
            let directory = try TemporaryDirectory()
            return (Server(url: "sqlite:" + directory.file("queue.db"), restart: {}), directory)
        }
    }

    @Test(arguments: QueueBackend.allCases)
    func tenThousandJobsSurviveKilledWorkersAndACrashedServer(backend: QueueBackend) async throws {
        let (server, keepAlive) = try await server(backend)
        defer { withExtendedLifetime(keepAlive) {} }
        let scratch = try TemporaryDirectory()
        let tally = scratch.file("tally")
        let q = "faults"
        let jobs = 10_000, poison = 20
        let lines = (0..<jobs).map { #"{"n":\#($0),"ms":\#(2 + $0 % 7)}"# }.joined(separator: "\n")
        let added = try await runProcessAsync(RepositoryPaths.embeddedRuntimeBinary, ["enqueue", "tally", "--queue", server.url, "--queue-name", q,
                                                                                      "--payload-lines", "-", "--max-attempts", "20", "--retry-delay", "0"],
                                              input: Data(lines.utf8))
        #expect(added.status == 0, "\(added.stderr)")
        let poisonLines = (0..<poison).map { _ in #"{"poison":true}"# }.joined(separator: "\n")
        let poisoned = try await runProcessAsync(RepositoryPaths.embeddedRuntimeBinary, ["enqueue", "tally", "--queue", server.url, "--queue-name", q,
                                                                                         "--payload-lines", "-", "--max-attempts", "3", "--retry-delay", "0"],
                                                 input: Data(poisonLines.utf8))
        let poisonIDs = Set(poisoned.stdout.split(separator: "\n").compactMap { Int64($0) })
        #expect(poisonIDs.count == poison)

        let environment = ["TASKSHIM_TALLY_FILE": tally, "TASKSHIM_LOG_FORMAT": "json", "LOG_LEVEL": "warning"]
        func startWorker() throws -> BackgroundRuntime {
            try BackgroundRuntime(environment: environment, arguments: ["worker", "--queue", server.url, "--queues", q, "--concurrency", "4",
                                                                        "--lease", "2", "--poll-seconds", "0.1"],
                                  executable: RepositoryPaths.embeddedRuntimeBinary)
        }
        var workers = try (0..<3).map { _ in try startWorker() }
        var kills = 0
        var restarted = false
        let queue = try await backend.open(url: server.url)
        let deadline = ContinuousClock.now + .seconds(180)
        var stats = QueueStats()
        while ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(300))
            if kills < 12 {
                let victim = Int.random(in: 0..<workers.count)
                workers[victim].signal(SIGKILL)
                _ = await workers[victim].waitForExit(timeout: 10)
                workers[victim] = try startWorker()
                kills += 1
                if kills == 5 && !restarted {
                    try await server.restart()
                    restarted = true
                }
                continue
            }
            guard let current = try? await queue.stats(queue: q) else { continue }  // reconnecting after the restart
            stats = current
            if stats.queued + stats.retry + stats.running == 0 { break }
        }
        for worker in workers {
            worker.signal(SIGTERM)
            #expect(await worker.waitForExit(timeout: 20) == 0, "\(worker.stdout.suffix(2000))")
        }
        #expect(kills == 12 && restarted)
        #expect(stats.completed == jobs && stats.failed == poison, "\(stats)")

        // Every execution the handler saw, as (job, attempt).
        var executions: [Int64: [Int]] = [:]
        for line in try String(contentsOfFile: tally, encoding: .utf8).split(separator: "\n") {
            let fields = line.split(separator: " ")
            guard fields.count == 2, let id = Int64(fields[0]), let attempt = Int(fields[1]) else {
                Issue.record("a torn tally line: \(line)")
                continue
            }
            executions[id, default: []].append(attempt)
        }
        var rerun = 0
        for record in try await queue.list(queue: q, status: nil, limit: jobs + poison + 10) {
            let seen = executions[record.id] ?? []
            #expect(Set(seen).count == seen.count, "job \(record.id) ran twice as the same attempt: \(seen)")
            #expect(seen.allSatisfy { $0 <= record.attempt }, "job \(record.id): ran as \(seen), recorded as attempt \(record.attempt)")
            if poisonIDs.contains(record.id) {
                #expect(record.status == .failed && record.error?.contains("poison") == true && record.attempt == 3, "\(record)")
            } else {
                #expect(record.status == .completed && !seen.isEmpty, "job \(record.id) \(record.status), ran \(seen)")
                #expect(seen.count == 1 || record.attempt > 1, "a job run more than once is marked by its attempt")
                if seen.count > 1 { rerun += 1 }
            }
        }
        #expect(executions.count == jobs + poison, "every job ran")
        let runs = executions.values.reduce(0) { $0 + $1.count }
        print("queue fault run on \(backend): \(jobs) jobs + \(poison) poison, \(kills) SIGKILLs, \(backend == .sqlite ? "no server" : "1 server crash"): \(runs) handler runs, "
              + "\(rerun) jobs run more than once, \(stats.completed) completed, \(stats.failed) failed")
        // Reruns are the jobs in flight at a kill or a crash (typically a few dozen): a sanity bound, not a target.
        #expect(rerun <= jobs / 4, "\(rerun) jobs ran more than once")
    }
}
}
