import Foundation
import Testing
@testable import TaskShim
import TaskShimSchedule
import TestSupport

/// The shared stores behind TASKSHIM_SCHEDULE_URL, against the real servers: each run claimed once,
/// the last claim remembered, a `forbid` task's lease held, renewed, lapsed and given up, and the
/// store still answering after its server restarts.
@Suite struct RunClaimsStoreTests {
    static let stores = ["postgres", "sqlite", "redis"]

    func open(_ store: String, _ directory: TemporaryDirectory) async throws -> any RunClaims {
        switch store {
        case "postgres": try await SQLRunClaims.open(url: try TestServers.postgresURL())
        case "sqlite": try await SQLRunClaims.open(url: "sqlite://" + directory.file("claims.db"))
        default: try await RedisRunClaims.open(url: try TestServers.redisURL(), caFile: nil)
        }
    }

    @Test(arguments: stores) func aRunIsClaimedOnceAndTheLatestIsRemembered(store: String) async throws {
        let directory = try TemporaryDirectory()
        let (a, b) = (try await open(store, directory), try await open(store, directory))
        let task = "claims-\(UUID().uuidString.prefix(8).lowercased())"
        let t0 = Date(timeIntervalSince1970: 1_796_212_800)
        #expect(try await a.lastClaimed(task: task) == nil)
        // Both ask at once for the same runs: each is won by exactly one.
        for offset in [0.0, 60, 120] {
            async let first = a.claim(task: task, logicalTime: t0.addingTimeInterval(offset), scheduler: "a")
            async let second = b.claim(task: task, logicalTime: t0.addingTimeInterval(offset), scheduler: "b")
            let (x, y) = try await (first, second)
            #expect(x != y, "\(store) at +\(offset): \(x) \(y)")
        }
        // An earlier run claimed late does not move the last one back.
        #expect(try await a.claim(task: task, logicalTime: t0.addingTimeInterval(-60), scheduler: "a"))
        #expect(try await b.lastClaimed(task: task) == t0.addingTimeInterval(120))
        #expect(try await b.lastClaimed(task: task + "-other") == nil)
    }

    @Test(arguments: stores) func aLeaseIsHeldRenewedLapsedAndGivenUp(store: String) async throws {
        let directory = try TemporaryDirectory()
        let (a, b) = (try await open(store, directory), try await open(store, directory))
        let task = "lease-\(UUID().uuidString.prefix(8).lowercased())"
        let now = Date()
        #expect(try await a.lease(task: task, holder: "a/1", until: now.addingTimeInterval(30), now: now))
        #expect(try await !b.lease(task: task, holder: "b/1", until: now.addingTimeInterval(30), now: now))
        #expect(try await a.lease(task: task, holder: "a/1", until: now.addingTimeInterval(30), now: now), "renewed by its holder")
        try await b.release(task: task, holder: "b/1")  // not b's: nothing happens
        #expect(try await !b.lease(task: task, holder: "b/1", until: now.addingTimeInterval(30), now: now))
        try await a.release(task: task, holder: "a/1")
        #expect(try await b.lease(task: task, holder: "b/1", until: now.addingTimeInterval(3), now: now), "free once given up")
        // b dies without giving it up: past its expiry the task is free again. SQL compares the
        // callers' clocks, given here; Redis expires the key by its own, so that case waits.
        #expect(try await !a.lease(task: task, holder: "a/2", until: now.addingTimeInterval(31), now: now.addingTimeInterval(1)))
        if store == "redis" { try await Task.sleep(for: .milliseconds(3500)) }
        #expect(try await a.lease(task: task, holder: "a/2", until: now.addingTimeInterval(34), now: now.addingTimeInterval(4)), "lapsed")
    }

    @Test func redisClaimsGoOnAfterTheServerRestarts() async throws {
        let server = try await PrivateRedisServer()
        let claims = try await RedisRunClaims.open(url: server.url, caFile: nil)
        let t0 = Date(timeIntervalSince1970: 1_796_212_800)
        #expect(try await claims.claim(task: "tick", logicalTime: t0, scheduler: "a"))
        try await server.restart()
        // The append-only file kept the claim; the connection is opened again by the next command.
        #expect(try await !claims.claim(task: "tick", logicalTime: t0, scheduler: "a"))
        #expect(try await claims.claim(task: "tick", logicalTime: t0.addingTimeInterval(60), scheduler: "a"))
        try await server.kill()
        await #expect(throws: TaskShimError.self) { try await claims.claim(task: "tick", logicalTime: t0.addingTimeInterval(120), scheduler: "a") }
    }

    @Test func postgresClaimsGoOnAfterTheServerRestarts() async throws {
        let server = try await PrivatePostgresServer()
        let claims = try await SQLRunClaims.open(url: server.url)
        let t0 = Date(timeIntervalSince1970: 1_796_212_800)
        #expect(try await claims.claim(task: "tick", logicalTime: t0, scheduler: "a"))
        #expect(try await claims.lease(task: "tick", holder: "a/1", until: Date().addingTimeInterval(30), now: Date()))
        try await server.restart()
        #expect(try await !claims.claim(task: "tick", logicalTime: t0, scheduler: "a"))
        #expect(try await claims.lease(task: "tick", holder: "a/1", until: Date().addingTimeInterval(30), now: Date()), "renewed after the restart")
        #expect(try await claims.lastClaimed(task: "tick") == t0)
    }

    @Test func aRedisURLWithoutAServerIsAnActionableError() async throws {
        let url = "redis://127.0.0.1:\(closedPort())/0"
        await #expect { try await RedisRunClaims.open(url: url, caFile: nil) } throws: { error in
            let error = error as? TaskShimError
            return error?.message.contains("TASKSHIM_SCHEDULE_URL") == true && error?.isRetryable == true
        }
    }
}
