import Foundation
import Testing
import TestSupport
@testable import TaskShimClients
@testable import TaskShimCore

struct SQLiteDatabaseTests {
    @Test func bindsNamedParametersAndStreamsInBatches() async throws {
        let directory = try TemporaryDirectory()
        let database = try await SQLiteDatabase.open(path: directory.file("t.sqlite"))
        try await database.execute("CREATE TABLE t (n INTEGER, label TEXT)")
        try await database.insert("INSERT INTO t VALUES (?1, ?2)", rows: (1...2500).map { [.integer(Int64($0)), .text("row \($0)")] })
        let cursor = try await database.query("SELECT n, label FROM t WHERE n > :low ORDER BY n", parameters: ["low": .integer(100)])
        var sizes: [Int] = []
        var first: SQLRow?
        while true {
            let rows = try await cursor.next(max: 1000)
            if rows.isEmpty { break }
            if first == nil { first = rows[0] }
            sizes.append(rows.count)
        }
        #expect(sizes == [1000, 1000, 400])
        #expect(cursor.columns == ["n", "label"])
        #expect(first == SQLRow(["101", "row 101"]))
    }

    @Test func parameterValuesAreDataNeverSQL() async throws {
        let directory = try TemporaryDirectory()
        let database = try await SQLiteDatabase.open(path: directory.file("t.sqlite"))
        try await database.execute("CREATE TABLE t (v TEXT)")
        let hostile = "x'); DROP TABLE t; --"
        let rows = try await database.all("SELECT :v AS v", parameters: ["v": .text(hostile)])
        #expect(rows == [SQLRow([hostile])])
        #expect(try await database.all("SELECT count(*) FROM t") == [SQLRow(["0"])])
    }

    @Test func syntaxErrorNamesLineAndColumn() async throws {
        let directory = try TemporaryDirectory()
        let database = try await SQLiteDatabase.open(path: directory.file("t.sqlite"))
        do {
            _ = try await database.query("SELECT 1,\n  2 FRM nothing", parameters: [:])
            Issue.record("expected an error")
        } catch let error as TaskShimError {
            #expect(error.status == .dataError)
            #expect(error.message.contains("line 2"))
            #expect(error.message.contains("FRM") || error.message.contains("syntax error"))
        }
    }

    @Test func missingPlaceholderValueNamesThePlaceholder() async throws {
        let directory = try TemporaryDirectory()
        let database = try await SQLiteDatabase.open(path: directory.file("t.sqlite"))
        do {
            _ = try await database.query("SELECT :window_start, :nope", parameters: ["window_start": .text("x")])
            Issue.record("expected an error")
        } catch let error as TaskShimError {
            #expect(error.status == .dataError)
            #expect(error.message.contains(":nope"))
            #expect(error.hint.contains(":window_start"))
        }
    }

    @Test(arguments: ["SELECT ?", "SELECT ?1", "SELECT $1"])
    func positionalParametersAreRefused(_ sql: String) async throws {
        let directory = try TemporaryDirectory()
        let database = try await SQLiteDatabase.open(path: directory.file("t.sqlite"))
        do {
            _ = try await database.query(sql, parameters: ["1": .text("x")])
            Issue.record("expected an error")
        } catch let error as TaskShimError {
            #expect(error.message.contains("positional"))
        }
    }

    @Test func cancellingTheTaskInterruptsALongStatement() async throws {
        let directory = try TemporaryDirectory()
        let database = try await SQLiteDatabase.open(path: directory.file("t.sqlite"))
        let start = Date()
        let task = Task {
            try await database.all("WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n) SELECT count(*) FROM n")
        }
        try await Task.sleep(for: .milliseconds(200))
        task.cancel()
        await #expect(throws: CancellationError.self) { _ = try await task.value }
        #expect(Date().timeIntervalSince(start) < 10)
        #expect(try await database.all("SELECT 'usable'") == [SQLRow(["usable"])])
    }

    @Test func aMissingFileIsNoInputWhenNotCreating() async throws {
        do {
            _ = try await SQLiteDatabase.open(path: "/nonexistent/dir/x.sqlite", create: false)
            Issue.record("expected an error")
        } catch let error as TaskShimError {
            #expect(error.status == .noInput)
            #expect(error.message.contains("/nonexistent/dir/x.sqlite"))
        }
    }

    @Test func unsupportedURLSchemeIsAConfigurationError() async throws {
        do {
            _ = try await SQLDatabases.open(url: "mysql://u:p@h/db")
            Issue.record("expected an error")
        } catch let error as TaskShimError {
            #expect(error.status == .configuration)
            #expect(error.message.contains("mysql"))
            #expect(!error.description.contains("u:p"))
        }
    }
}
