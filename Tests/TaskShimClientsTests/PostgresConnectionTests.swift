import Foundation
import Testing
import TestSupport
@testable import TaskShimClients
@testable import TaskShimCore

/// Against the real PostgreSQL that scripts/test starts on loopback.
@Suite(.serialized) struct PostgresConnectionTests {
    @Test func runsBoundParametersAndReturnsText() async throws {
        let database = try await PostgresConnection.connect(url: try TestServers.postgresURL())
        let rows = try await database.all("SELECT :a::int + 1 AS n, :b AS t, :missing_ok::text IS NULL AS isnull",
                                          parameters: ["a": .integer(41), "b": .text("héllo"), "missing_ok": .null])
        #expect(rows == [SQLRow(["42", "héllo", "t"])])
    }

    @Test func hostileValuesStayData() async throws {
        let database = try await PostgresConnection.connect(url: try TestServers.postgresURL())
        let hostile = "'); DROP TABLE pg_class; --"
        #expect(try await database.all("SELECT :v AS v", parameters: ["v": .text(hostile)]) == [SQLRow([hostile])])
    }

    @Test func streamsLargeResultsInBatchesOnOneConnection() async throws {
        let database = try await PostgresConnection.connect(url: try TestServers.postgresURL())
        let cursor = try await database.query("SELECT g, g * 2 AS double FROM generate_series(1, :n) g", parameters: ["n": .integer(25_000)])
        var total = 0
        var batches = 0
        var last: SQLRow?
        while true {
            let rows = try await cursor.next(max: 3000)
            if rows.isEmpty { break }
            #expect(rows.count <= 3000)
            total += rows.count
            batches += 1
            last = rows.last
        }
        #expect(total == 25_000)
        #expect(batches == 9)
        #expect(last == SQLRow(["25000", "50000"]))
        #expect(cursor.columns == ["g", "double"])
        // The connection is free again for the next query.
        #expect(try await database.all("SELECT 'again'") == [SQLRow(["again"])])
    }

    @Test func emptyResultStillHasColumns() async throws {
        let database = try await PostgresConnection.connect(url: try TestServers.postgresURL())
        let cursor = try await database.query("SELECT 1 AS element_name WHERE false", parameters: [:])
        #expect(try await cursor.next(max: 10).isEmpty)
        #expect(cursor.columns == ["element_name"])
    }

    @Test func syntaxErrorReportsServerMessageAndPosition() async throws {
        let database = try await PostgresConnection.connect(url: try TestServers.postgresURL())
        do {
            let cursor = try await database.query("SELECT :a,\n   2 FRM nothing", parameters: ["a": .integer(1)])
            _ = try await cursor.next(max: 10)
            Issue.record("expected an error")
        } catch let error as TaskShimError {
            #expect(error.status == .dataError)
            #expect(error.message.contains("syntax error"))
            // `2 FRM` parses as `2 AS frm`, so the server points at "nothing".
            #expect(error.message.contains("line 2, column 10"))
            #expect(error.message.contains("42601"))
        }
        #expect(try await database.all("SELECT 1") == [SQLRow(["1"])])
    }

    @Test func statementTimeoutIsATemporaryFailure() async throws {
        let database = try await PostgresConnection.connect(url: try TestServers.postgresURL(),
                                                            options: .init(statementTimeoutMilliseconds: 100))
        do {
            _ = try await database.all("SELECT pg_sleep(2)")
            Issue.record("expected an error")
        } catch let error as TaskShimError {
            #expect(error.status == .temporaryFailure)
            #expect(error.message.contains("57014"))
        }
    }

    @Test func cancellingTheTaskCancelsTheStatementAndKeepsTheConnection() async throws {
        let database = try await PostgresConnection.connect(url: try TestServers.postgresURL())
        let start = Date()
        let task = Task { try await database.all("SELECT pg_sleep(30)") }
        try await Task.sleep(for: .milliseconds(300))
        task.cancel()
        do {
            _ = try await task.value
            Issue.record("expected an error")
        } catch let error as TaskShimError {
            #expect(error.status == .temporaryFailure)
            #expect(error.message.contains("57014"))
        }
        #expect(Date().timeIntervalSince(start) < 15)  // pg_sleep(30) was cut short
        #expect(try await database.all("SELECT 'still usable'") == [SQLRow(["still usable"])])
    }

    @Test func refusedConnectionIsTemporaryAndNamesTheServer() async throws {
        let port = closedPort()
        do {
            _ = try await PostgresConnection.connect(url: "postgres://app:hunter2-secret@127.0.0.1:\(port)/x")
            Issue.record("expected an error")
        } catch let error as TaskShimError {
            #expect(error.status == .temporaryFailure)
            #expect(error.message.contains("127.0.0.1:\(port)"))
            #expect(!error.description.contains("hunter2-secret"))
        }
    }

    @Test func unknownDatabaseIsAConfigurationError() async throws {
        var components = URLComponents(string: try TestServers.postgresURL())!
        components.path = "/no_such_database_here"
        do {
            _ = try await PostgresConnection.connect(url: components.string!)
            Issue.record("expected an error")
        } catch let error as TaskShimError {
            #expect(error.status == .configuration)
            #expect(error.message.contains("no_such_database_here"))
        }
    }

    @Test func tlsWithVerifyFullChecksTheCertificate() async throws {
        let url = try TestServers.postgresURL()
        let trusted = try await PostgresConnection.connect(url: url + "?sslmode=verify-full&sslrootcert=\(try TestServers.postgresCertificate())")
        #expect(try await trusted.all("SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()") == [SQLRow(["t"])])
        let stranger = try SelfSignedCertificate()
        do {
            _ = try await PostgresConnection.connect(url: url + "?sslmode=verify-full&sslrootcert=\(stranger.certificate)")
            Issue.record("a server certificate from another CA must be refused")
        } catch let error as TaskShimError {
            #expect(error.status == .configuration)
            #expect(error.message.contains("certificate"))
        }
    }

    @Test func serverGoingAwayMidSessionIsTemporary() async throws {
        let url = try TestServers.postgresURL()
        let victim = try await PostgresConnection.connect(url: url)
        let pid = try #require(try await victim.all("SELECT pg_backend_pid()").first?[0])
        let killer = try await PostgresConnection.connect(url: url)
        _ = try await killer.all("SELECT pg_terminate_backend(:pid::int)", parameters: ["pid": .text(pid)])
        do {
            _ = try await victim.all("SELECT 1")
            Issue.record("expected an error")
        } catch let error as TaskShimError {
            #expect(error.status == .temporaryFailure)
        }
    }
}
