import Foundation
import Testing
import TestSupport
@testable import TaskShimCore

/// The parser against Foundation's JSONSerialization: the same values for valid documents, nil for
/// the invalid ones.
struct JSONParserTests {
    /// A JSONValue as the Foundation object graph, for comparing.
    func foundation(_ value: JSONValue) -> Any {
        switch value {
        case .null: NSNull()
        case .bool(let flag): flag
        case .number(let number): number
        case .string(let text): text
        case .array(let values): values.map(foundation)
        case .object(let members): members.mapValues(foundation)
        }
    }

    func same(_ text: String) -> Bool {
        let data = Data(text.utf8)
        let ours = JSONParser.parse(data)
        let theirs = try? JSONSerialization.jsonObject(with: data, options: [.fragmentsAllowed])
        switch (ours, theirs) {
        case (nil, nil): return true
        case (let ours?, let theirs?):
            return NSDictionary(dictionary: ["v": foundation(ours)]) == NSDictionary(dictionary: ["v": theirs])
        default: return false
        }
    }

    @Test(arguments: [
        #"{}"#, #"[]"#, #"{"a":1,"b":[true,false,null],"c":{"d":"e"}}"#, #"  {"a" : [ 1 , 2 ] }  "#,
        #""plain""#, #"0"#, #"-0"#, #"12.5e-3"#, #"1E+2"#, #"-12.75"#, #"123456789012"#,
        #""esc \" \\ \/ \b \f \n \r \t""#, #""\u00e9\u4e2d""#, #""\ud83d\ude00""#, #""café ☕""#,
        // invalid
        #"01"#, #"1."#, #".5"#, #"+1"#, #"-"#, #"1e"#, #"tru"#, #"nul"#, #"{"a" 1}"#,
        #"{a:1}"#, #"'x'"#, #""unterminated"#, #""bad \x escape""#, #""\ud83d alone""#, #""\ude00""#,
        "\"tab\there\"", #"[1] [2]"#, #""#, #"   "#, #"{"a":1}x"#, #"[[[]]"#,
    ])
    func matchesFoundation(_ text: String) {
        #expect(same(text), "\(text)")
    }

    /// RFC 8259 has no trailing commas; Foundation lets them through.
    @Test func trailingCommasAreRefused() {
        #expect(JSONParser.parse(Data(#"{"a":1,}"#.utf8)) == nil)
        #expect(JSONParser.parse(Data(#"[1,]"#.utf8)) == nil)
    }

    @Test func everyConformanceVectorParsesAsFoundationDoes() throws {
        let folder = RepositoryPaths.root.appendingPathComponent("../shared/ff-conformance/events/generate/data").standardized.path
        let files = try FileManager.default.contentsOfDirectory(atPath: folder).filter { $0.hasSuffix(".json") }
        #expect(files.count > 60)
        for file in files {
            let text = try String(contentsOfFile: folder + "/" + file, encoding: .utf8)
            #expect(same(text), "\(file)")
        }
    }

    @Test func deepNestingIsRefusedNotACrash() {
        let deep = String(repeating: "[", count: 100_000) + String(repeating: "]", count: 100_000)
        #expect(JSONParser.parse(Data(deep.utf8)) == nil)
        let fine = String(repeating: "[", count: 500) + String(repeating: "]", count: 500)
        #expect(JSONParser.parse(Data(fine.utf8)) != nil)
    }
}
