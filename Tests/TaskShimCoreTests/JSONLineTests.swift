import Foundation
import Testing
@testable import TaskShimCore

struct JSONLineTests {
    @Test func escapesEverythingJSONRequiresAndParsesBack() throws {
        var line = JSONLine()
        let nasty = "quote\" backslash\\ newline\n tab\t bell\u{07} unicode é 🚀"
        line.add("text", nasty)
        line.add("count", 3)
        line.add("ratio", 0.25)
        line.add("flag", true)
        line.add("nested", rawJSON: "{\"a\":[1,2]}")
        let object = try #require(JSONSerialization.jsonObject(with: Data(line.string.utf8)) as? [String: Any])
        #expect(object["text"] as? String == nasty)
        #expect(object["count"] as? Int == 3)
        #expect(object["ratio"] as? Double == 0.25)
        #expect(object["flag"] as? Bool == true)
        #expect((object["nested"] as? [String: Any])?["a"] as? [Int] == [1, 2])
    }

    @Test func keepsKeyOrder() {
        var line = JSONLine()
        line.add("time", "t")
        line.add("level", "info")
        line.add("message", "m")
        #expect(line.string == #"{"time":"t","level":"info","message":"m"}"#)
    }

    @Test func numbersAreIntegersWhenWholeAndNullWhenNotFinite() {
        #expect(JSONLine.number(42) == "42")
        #expect(JSONLine.number(-0.5) == "-0.5")
        #expect(JSONLine.number(.nan) == "null")
        #expect(JSONLine.number(.infinity) == "null")
    }
}
