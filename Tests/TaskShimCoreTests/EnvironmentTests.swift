import Testing
@testable import TaskShimCore

struct EnvironmentTests {
    @Test func readsTypedValuesWithDefaults() throws {
        let environment = Environment(["A": "12", "B": "", "FLAG": "yes"])
        #expect(try environment.int("A", default: 1, in: 0...100) == 12)
        #expect(try environment.int("B", default: 7, in: 0...100) == 7)  // empty counts as unset
        #expect(try environment.int("MISSING", default: 3, in: 0...100) == 3)
        #expect(try environment.bool("FLAG", default: false))
    }

    @Test func errorsNameTheVariableAndTheRange() {
        let environment = Environment(["MAX_RECORDS_PER_CALL": "lots", "N": "500", "FLAG": "maybe"])
        #expect(throws: TaskShimError.self) { try environment.int("MAX_RECORDS_PER_CALL", default: 3000, in: 1...100_000) }
        do {
            _ = try environment.int("N", default: 1, in: 1...10)
            Issue.record("expected an error")
        } catch {
            #expect(error.status == .configuration)
            #expect(error.message.contains("N=500"))
            #expect(error.message.contains("1 to 10"))
        }
        #expect(throws: TaskShimError.self) { try environment.bool("FLAG", default: false) }
    }
}

struct StringTrimmingTests {
    @Test func trimsSpacesTabsAndLineBreaksIncludingCRLF() {
        #expect("  value\r\n".trimmed == "value")
        #expect("\t a b \n".trimmed == "a b")
        #expect(" \r\n ".trimmed == "")
        #expect("x".trimmed == "x")
    }
}
