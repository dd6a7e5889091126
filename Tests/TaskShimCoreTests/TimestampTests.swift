import Foundation
import Testing
@testable import TaskShimCore

struct TimestampTests {
    let reference = Date(timeIntervalSince1970: 1_795_363_200)  // 2026-11-22T16:00:00Z

    @Test func formatsUTCWithAndWithoutMilliseconds() {
        #expect(Timestamp.format(reference.addingTimeInterval(0.123)) == "2026-11-22T16:00:00.123Z")
        #expect(Timestamp.format(reference, fractional: false) == "2026-11-22T16:00:00Z")
        #expect(Timestamp.format(Date(timeIntervalSince1970: 0), fractional: false) == "1970-01-01T00:00:00Z")
    }

    @Test(arguments: [
        "2026-11-22T16:00:00Z", "2026-11-22T16:00:00z", "2026-11-22 16:00:00", "2026-11-22T18:00:00+02:00",
        "2026-11-22T11:00:00-05:00", "2026-11-22 16:00:00+00", "2026-11-22T16:00:00.000Z", "2026-11-22T17:00:00+0100",
    ])
    func parsesTheFormsDatabasesAndUsersWrite(_ text: String) {
        #expect(Timestamp.parse(text) == reference)
    }

    @Test func parsesFractionsAndBareDates() {
        #expect(Timestamp.parse("2026-11-22T16:00:00.5Z") == reference.addingTimeInterval(0.5))
        #expect(Timestamp.parse("2026-11-22") == Date(timeIntervalSince1970: 1_795_305_600))
    }

    @Test(arguments: ["", "yesterday", "2026-02-31T00:00:00Z", "2026-13-01T00:00:00Z", "2026-11-22T25:00:00Z",
                      "2026-11-22T16:00:00Zjunk", "2026-11-22T16:00", "2026-11-22T16:00:00."])
    func rejectsWhatIsNotADateTime(_ text: String) {
        #expect(Timestamp.parse(text) == nil)
    }
}
