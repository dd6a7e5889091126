import Testing
@testable import TaskShimClients
@testable import TaskShimCore

struct NamedParametersTests {
    @Test func rewritesNamesToPositionsKeepingLength() {
        let sql = "SELECT :a, :bb FROM t WHERE x = :a"
        let parsed = NamedParameters(parsing: sql)
        #expect(parsed.names == ["a", "bb"])
        #expect(parsed.positionalSQL == "SELECT $1, $2  FROM t WHERE x = $1")
        #expect(parsed.positionalSQL.count == sql.count)
    }

    @Test func leavesCastsStringsCommentsAndDollarQuotesAlone() {
        let sql = """
            SELECT ts::date, ':not_a' AS s, "col:x", $$ :inside $$, $tag$ :also $tag$ -- :comment
            /* :block /* :nested */ */ FROM t WHERE ts >= :window_start AND e = 'it''s :x'
            """
        let parsed = NamedParameters(parsing: sql)
        #expect(parsed.names == ["window_start"])
        #expect(parsed.positionalSQL.contains("ts::date"))
        #expect(parsed.positionalSQL.contains("':not_a'"))
        #expect(parsed.positionalSQL.contains("$$ :inside $$"))
        #expect(parsed.positionalSQL.contains("-- :comment"))
        #expect(parsed.positionalSQL.contains("'it''s :x'"))
    }

    @Test func missingValueNamesThePlaceholderAndTheKnownOnes() {
        let parsed = NamedParameters(parsing: "SELECT :window_start, :oops")
        do {
            _ = try parsed.values(from: ["window_start": .text("x")])
            Issue.record("expected an error")
        } catch {
            #expect(error.status == .dataError)
            #expect(error.message.contains(":oops"))
            #expect(error.hint.contains(":window_start"))
        }
    }

    @Test func lineAndColumnCountFromOne() {
        let (line, column) = lineAndColumn(of: 12, in: "SELECT 1\nFRM x")
        #expect(line == 2)
        #expect(column == 3)
    }
}
