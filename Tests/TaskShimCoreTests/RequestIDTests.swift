import Foundation
import Testing
@testable import TaskShimCore

struct RequestIDTests {
    @Test func generatedIDsAreVersion4UUIDsAndDiffer() {
        let ids = (0..<1000).map { _ in RequestID.generate() }
        #expect(Set(ids).count == 1000)
        for id in ids.prefix(50) {
            let parsed = UUID(uuidString: id)
            #expect(parsed != nil, "\(id)")
            #expect(id == id.lowercased())
            let characters = Array(id)
            #expect(characters[14] == "4", "version nibble: \(id)")
            #expect("89ab".contains(characters[19]), "variant: \(id)")
        }
    }

    @Test func theTwoWordsAreWrittenAsEightFourFourFourTwelveHexDigits() {
        #expect(RequestID.format(0x0123_4567_89AB_CDEF, 0xFEDC_BA98_7654_3210) == "01234567-89ab-cdef-fedc-ba9876543210")
        #expect(RequestID.format(0, .max) == "00000000-0000-0000-ffff-ffffffffffff")
    }
}
