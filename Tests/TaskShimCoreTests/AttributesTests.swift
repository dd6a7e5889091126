import Testing
import TaskShimCore

struct AttributesTests {
    @Test func attributesAreSetReplacedAndRemovedByName() {
        var attributes: Attributes = ["type": "t", "id": "1"]
        attributes["subject"] = "s"
        attributes["id"] = "2"
        #expect(attributes.map(\.name) == ["id", "subject", "type"])
        #expect(attributes["id"] == "2")
        attributes["subject"] = nil
        #expect(attributes.count == 2)
        #expect(attributes["subject"] == nil)
        #expect(attributes == ["id": "2", "type": "t"])
        #expect(attributes != ["id": "2", "type": "u"])
    }

    @Test func namesArriveInAnyOrderAndIterateInNameOrder() {
        var ascending = Attributes()
        var descending = Attributes()
        let names = ["a", "b", "ba", "c", "z"]
        for name in names { ascending[name] = name.uppercased() }
        for name in names.reversed() { descending[name] = name.uppercased() }
        #expect(ascending.map(\.name) == names)
        #expect(ascending == descending)
        // A name after the last one that is already there replaces it rather than adding a second.
        ascending["z"] = "last"
        ascending["zz"] = "after"
        #expect(ascending.map(\.name) == names + ["zz"])
        #expect(ascending["z"] == "last")
        ascending["zz"] = nil
        ascending["zz"] = nil
        #expect(ascending.count == names.count)
        #expect(Attributes().isEmpty && !ascending.isEmpty)
    }
}
