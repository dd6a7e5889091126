import Testing
@testable import TaskShimCore

struct DurationParsingTests {
    @Test func agesAreReadWithTheirUnits() {
        #expect(Duration(parsing: "90") == .seconds(90))
        #expect(Duration(parsing: "90s") == .seconds(90))
        #expect(Duration(parsing: "500ms") == .milliseconds(500))
        #expect(Duration(parsing: "15m") == .seconds(900))
        #expect(Duration(parsing: " 1.5h ") == .seconds(5400))
        #expect(Duration(parsing: "7d") == .seconds(604_800))
        #expect(Duration(parsing: "2w") == .seconds(1_209_600))
        #expect(Duration(parsing: "0s") == .zero)
    }

    @Test func anythingElseIsRefused() {
        for text in ["", "d", "-5m", "7y", "5 m m", "soon", "1e400s", "nan"] {
            #expect(Duration(parsing: text) == nil, "\(text)")
        }
    }
}
