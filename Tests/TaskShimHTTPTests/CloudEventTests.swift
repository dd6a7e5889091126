import Foundation
import Testing
@testable import TaskShimCore
@testable import TaskShimHTTP

struct CloudEventTests {
    @Test func theStructuredFormEscapesEveryAttributeAndKeepsJSONDataAsSent() throws {
        let tricky = "quote\" backslash\\ newline\n tab\t bell\u{07} café 中"
        var event = CloudEvent(attributes: ["specversion": "1.0", "id": "1", "source": "//s", "type": "t", "subject": tricky])
        event.dataJSON = Data(#"{ "n": [1, 2.5, true, null], "s": "x" }"#.utf8)
        let object = try #require(try JSONSerialization.jsonObject(with: event.jsonData) as? [String: Any])
        #expect(object["subject"] as? String == tricky)
        #expect(object["id"] as? String == "1")
        let data = try #require(object["data"] as? [String: Any])
        #expect(data["s"] as? String == "x")
        #expect((data["n"] as? [Any])?.count == 4)

        var binary = CloudEvent(attributes: ["specversion": "1.0", "id": "2", "source": "//s", "type": "t"])
        binary.dataBase64 = "AAE="
        let second = try #require(try JSONSerialization.jsonObject(with: binary.jsonData) as? [String: Any])
        #expect(second["data_base64"] as? String == "AAE=")
        #expect(second["data"] == nil)
    }
}
