import Foundation
import Testing
import TaskShimCore

struct ByteSearchTests {
    @Test func findsNeedlesAnywhereAndOnlyWhole() {
        let text = Array("{\"Records\":[]}".utf8)
        #expect(text.containsBytes(Array("\"Records\"".utf8)))
        #expect(text.containsBytes(Array("[]}".utf8)))
        #expect(text.containsBytes(Array("{".utf8)))
        #expect(text.containsBytes([]))
        #expect(!text.containsBytes(Array("\"Record\"".utf8)))
        #expect(!text.containsBytes(Array("{\"Records\":[]} ".utf8)))
        #expect(!Array<UInt8>().containsBytes(Array("x".utf8)))
    }

    @Test func worksOnDataSlicesThatDoNotStartAtZero() {
        let data = Data("xx\"detail-type\"yy".utf8)
        let slice = data[2...]
        #expect(slice.containsBytes(Array("\"detail-type\"".utf8)))
        #expect(!slice.containsBytes(Array("xx".utf8)))
    }
}
