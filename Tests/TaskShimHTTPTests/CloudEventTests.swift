import Foundation
import NIOHTTP1
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

    @Test func binaryModeAttributeNamesAreLowercasedAndWrittenInNameOrder() throws {
        let headers = HTTPHeaders([("Ce-Id", "A%20B"), ("CE-SPECVERSION", "1.0"), ("ce-type", "t"), ("ce-source", "//s"),
                                   ("Ce-MyExtension", "x"), ("Content-Type", "application/json"), ("Host", "h")])
        let event = try #require(try CloudEvent.decode(headers: headers, body: Data(#"{"k":[1,"é",{"n":null}]}"#.utf8))?.first)
        #expect(event.attributes.map(\.name) == ["datacontenttype", "id", "myextension", "source", "specversion", "type"])
        #expect(event.id == "A B")
        let json = String(decoding: event.jsonData, as: UTF8.self)
        #expect(json == #"{"datacontenttype":"application/json","id":"A B","myextension":"x","source":"//s","specversion":"1.0","type":"t","data":{"k":[1,"é",{"n":null}]}}"#)
    }

    @Test func dataThatIsNotTheJSONItsContentTypeSaysIsMalformed() {
        let headers = HTTPHeaders([("ce-id", "1"), ("ce-specversion", "1.0"), ("ce-type", "t"), ("ce-source", "//s"),
                                   ("content-type", "application/json")])
        for body in [#"{"a":}"#, #"{"a":"\u00"}"#, "[1,]", "01", "\"unterminated", "{\"a\":1} x"] {
            #expect(throws: CloudEvent.Malformed.self, "\(body)") { try CloudEvent.decode(headers: headers, body: Data(body.utf8)) }
        }
        var invalidUTF8 = Data(#"{"a":""#.utf8)
        invalidUTF8.append(contentsOf: [0xC3, 0x28])
        invalidUTF8.append(contentsOf: Data(#""}"#.utf8))
        #expect(throws: CloudEvent.Malformed.self) { try CloudEvent.decode(headers: headers, body: invalidUTF8) }
    }
}
