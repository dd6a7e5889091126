import Foundation
import Logging
import Synchronization
import Testing
import TestSupport
@testable import TaskShimClients
@testable import TaskShimCore

/// Against the local redis-server that scripts/test starts; a test that blocks the server on purpose
/// starts one of its own.
struct RedisConnectionTests {
    func connect(database: Int = 0) async throws -> RedisConnection {
        let server = try RedisConnection.parse(url: try TestServers.redisURL())
        return try await RedisConnection.connect(url: "redis://\(server.host):\(server.port)/\(database)")
    }

    func key(_ name: String) -> String { "taskshim-test:\(name):\(UUID().uuidString)" }

    @Test func commandsAndRepliesOfEveryKindRoundTrip() async throws {
        let redis = try await connect()
        let name = key("kinds")
        let binary: [UInt8] = [0, 13, 10, 255, 36, 42] + Array("tail".utf8)
        #expect(try await redis.command(bytes: [Array("SET".utf8), Array(name.utf8), binary]) == .status("OK"))
        #expect(try await redis.command(["GET", name]) == .bulk(binary))
        #expect(try await redis.command(["GET", name + ":missing"]) == .null)
        #expect(try await redis.command(["INCRBY", name + ":n", "41"]) == .integer(41))
        _ = try await redis.command(["RPUSH", name + ":list", "a", "b", "c"])
        #expect(try await redis.command(["LRANGE", name + ":list", "0", "-1"]) == .array([.bulk(Array("a".utf8)), .bulk(Array("b".utf8)), .bulk(Array("c".utf8))]))
        let big = String(repeating: "x", count: 300_000)  // several reads
        _ = try await redis.command(["SET", name + ":big", big])
        #expect(try await redis.command(["GET", name + ":big"]).string == big)
        _ = try await redis.command(["DEL", name, name + ":n", name + ":list", name + ":big"])
    }

    @Test func theURLsDatabaseIsSelected() async throws {
        let three = try await connect(database: 3)
        let zero = try await connect(database: 0)
        let name = key("db")
        _ = try await three.command(["SET", name, "in three"])
        #expect(try await zero.command(["EXISTS", name]) == .integer(0))
        #expect(try await three.command(["EXISTS", name]) == .integer(1))
        _ = try await three.command(["DEL", name])
    }

    @Test func errorRepliesAreClassified() async throws {
        let redis = try await connect()
        let name = key("wrongtype")
        _ = try await redis.command(["SET", name, "string"])
        do {
            _ = try await redis.command(["LPUSH", name, "x"])
            Issue.record("LPUSH on a string succeeded")
        } catch {
            #expect((error as? TaskShimError)?.status == .dataError)
            #expect("\(error)".contains("WRONGTYPE"))
        }
        #expect(try await redis.command(["PING"]) == .status("PONG"), "an error reply leaves the connection usable")
        _ = try await redis.command(["DEL", name])
        #expect(RedisConnection.classify("LOADING Redis is loading the dataset in memory", peer: "r").status == .temporaryFailure)
        #expect(RedisConnection.classify("BUSY Redis is busy running a script.", peer: "r").status == .temporaryFailure)
        #expect(RedisConnection.classify("READONLY You can't write against a read only replica.", peer: "r").status == .temporaryFailure)
        #expect(RedisConnection.classify("NOAUTH Authentication required.", peer: "r").status == .noPermission)
        #expect(RedisConnection.classify("WRONGPASS invalid username-password pair", peer: "r").status == .noPermission)
        #expect(RedisConnection.classify("ERR unknown command 'FOO'", peer: "r").status == .dataError)
    }

    @Test func busyIsRetriedUntilTheServerIsFreeAgain() async throws {
        // Its own server: the shared one serves the queue tests, which a busy server would fail.
        let server = try await PrivateRedisServer(arguments: ["--busy-reply-threshold", "100"])
        let blocker = try await RedisConnection.connect(url: server.url)
        // A script that keeps the server to itself for 4 s (room for a loaded machine); past 100 ms
        // others are answered BUSY.
        let script = """
            local t = redis.call('TIME'); local start = t[1] * 1000000 + t[2]
            while true do
              local n = redis.call('TIME')
              if n[1] * 1000000 + n[2] - start > 4000000 then return 1 end
            end
            """
        let probe = try await RedisConnection.connect(url: server.url)
        let busy = Task { try await blocker.command(["EVAL", script, "0"]) }
        // Until the server answers BUSY (however slow the machine is to start the script).
        var answeredBusy = false
        for _ in 0..<200 where !answeredBusy {
            do { _ = try await probe.command(["PING"]) } catch { answeredBusy = "\(error)".contains("BUSY") }
            if !answeredBusy { try await Task.sleep(for: .milliseconds(10)) }
        }
        #expect(answeredBusy)
        let tries = Atomic<Int>(0)
        // A breaker that tolerates the BUSY answers (by default ten failures in a row open it, which ends the retries).
        var lenient = CircuitBreaker.Configuration()
        lenient.minimumCalls = 1000
        let dependencies = Dependencies(breaker: lenient, logger: Logger(label: "t", factory: { _ in SwiftLogNoOpLogHandler() }))
        let reply = try await dependencies.call("redis:test", "redis command", policy: RetryPolicy(maxAttempts: 200, baseDelay: .milliseconds(40), maxDelay: .milliseconds(80)),
                                                logger: Logger(label: "t", factory: { _ in SwiftLogNoOpLogHandler() })) { _ in
            tries.add(1, ordering: .relaxed)
            return try await probe.command(["PING"])
        }
        #expect(reply == .status("PONG"))
        #expect(tries.load(ordering: .relaxed) > 1, "answered BUSY first, then retried")
        #expect(try await busy.value == .integer(1))
    }

    @Test func aDroppedConnectionFailsTheCommandAndTheNextOneReconnects() async throws {
        let redis = try await connect()
        let admin = try await connect()
        let name = "taskshim-drop-\(UUID().uuidString)"
        _ = try await redis.command(["CLIENT", "SETNAME", name])
        let clients = try await admin.command(["CLIENT", "LIST"]).string ?? ""
        let line = try #require(clients.split(separator: "\n").first { $0.contains("name=\(name)") })
        let id = try #require(line.split(separator: " ").first { $0.hasPrefix("id=") }.map { String($0.dropFirst(3)) })
        _ = try await admin.command(["CLIENT", "KILL", "ID", id])
        do {
            _ = try await redis.command(["PING"])
            Issue.record("a command on a killed connection succeeded")
        } catch {
            #expect((error as? TaskShimError)?.status == .temporaryFailure, "\(error)")
        }
        #expect(try await redis.command(["PING"]) == .status("PONG"))
    }

    @Test func aServerThatIsNotThereIsATemporaryFailure() async throws {
        do {
            _ = try await RedisConnection.connect(url: "redis://127.0.0.1:\(closedPort())/0")
            Issue.record("connected to a closed port")
        } catch {
            #expect((error as? TaskShimError)?.status == .temporaryFailure)
            #expect("\(error)".contains("Cannot connect to Redis at 127.0.0.1"))
        }
    }

    @Test func aCommandEndsAtTheRunsDeadline() async throws {
        let redis = try await connect()
        let start = ContinuousClock.now
        do {
            _ = try await Deadline.$current.withValue(Date().addingTimeInterval(0.3)) {
                try await redis.command(["BLPOP", key("never"), "10"])
            }
            Issue.record("BLPOP returned")
        } catch {
            #expect((error as? TaskShimError)?.status == .temporaryFailure, "\(error)")
        }
        // Far below BLPOP's own 10 s, with room for a machine loaded by the rest of the suite.
        #expect(ContinuousClock.now - start < .seconds(5))
        #expect(try await redis.command(["PING"]) == .status("PONG"), "reconnected after the timeout")
    }

    @Test func urlsAreParsedWithCredentialsKeptOutOfTheDisplay() throws {
        let address = try RedisConnection.parse(url: "redis://worker:p%40ss@cache.internal:6380/2")
        #expect(address == RedisConnection.Address(host: "cache.internal", port: 6380, username: "worker", password: "p@ss", database: 2, tls: false))
        #expect(address.display == "cache.internal:6380/2")
        #expect(try RedisConnection.parse(url: "rediss://cache").tls)
        #expect(try RedisConnection.parse(url: "redis://cache").port == 6379)
        #expect(throws: TaskShimError.self) { try RedisConnection.parse(url: "http://cache") }
        #expect(throws: TaskShimError.self) { try RedisConnection.parse(url: "redis://cache/x") }
    }

    @Test func redissSpeaksTLSAndVerifiesTheServer() async throws {
        let certificate = try SelfSignedCertificate()
        let server = try await PrivateRedisServer(tls: certificate)
        for host in ["127.0.0.1", "localhost"] {  // an IP address entry and a DNS name entry of the certificate
            let redis = try await RedisConnection.connect(url: server.tlsURL(host: host), caFile: certificate.certificate)
            let big = String(repeating: "t", count: 200_000)  // several TLS records each way
            #expect(try await redis.command(["SET", "tls-key", big]) == .status("OK"))
            #expect(try await redis.command(["GET", "tls-key"]) == .bulk(Array(big.utf8)))
        }
        // The system's CAs do not trust a self-signed certificate: refused, not downgraded.
        do {
            _ = try await RedisConnection.connect(url: server.tlsURL())
            Issue.record("an untrusted certificate was accepted")
        } catch let error as TaskShimError {
            #expect(error.status == .configuration && error.message.contains("not trusted"), "\(error)")
            #expect(error.hint.contains("TASKSHIM_CA_FILE"))
        }
        // A certificate for other names: refused.
        let other = try SelfSignedCertificate(names: ["DNS:elsewhere.example"])
        let impostor = try await PrivateRedisServer(tls: other)
        await #expect(throws: TaskShimError.self) {
            _ = try await RedisConnection.connect(url: impostor.tlsURL(), caFile: other.certificate)
        }
        // rediss:// to a port that speaks plain Redis: a clear temporary failure, no hang.
        do {
            _ = try await RedisConnection.connect(url: "rediss://127.0.0.1:\(server.port)/0", timeout: .seconds(3), caFile: certificate.certificate)
            Issue.record("a plain port passed a TLS handshake")
        } catch let error as TaskShimError {
            #expect(error.status == .temporaryFailure && error.message.contains("TLS"), "\(error)")
        }
    }
}
