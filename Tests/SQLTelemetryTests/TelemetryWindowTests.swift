import Foundation
import Testing
@testable import SQLTelemetry
@testable import TaskShimCore

struct TelemetryWindowTests {
    func time(_ text: String) -> Date { Timestamp.parse(text)! }

    @Test func previousCompleteHourLessLatency() {
        let window = TelemetryWindow.compute(logicalTime: time("2026-11-22T10:37:12Z"), latencyHours: 1, explicit: nil)
        #expect(window.start == time("2026-11-22T08:00:00Z"))
        #expect(window.end == time("2026-11-22T09:00:00Z"))
    }

    @Test func exactlyOnTheHourTheJustEndedHourIsComplete() {
        let window = TelemetryWindow.compute(logicalTime: time("2026-11-22T10:00:00Z"), latencyHours: 0, explicit: nil)
        #expect(window.start == time("2026-11-22T09:00:00Z"))
        #expect(window.end == time("2026-11-22T10:00:00Z"))
    }

    @Test func latencyCrossesMidnight() {
        let window = TelemetryWindow.compute(logicalTime: time("2026-11-22T01:15:00Z"), latencyHours: 3, explicit: nil)
        #expect(window.start == time("2026-11-21T21:00:00Z"))
        #expect(window.end == time("2026-11-21T22:00:00Z"))
    }

    @Test func explicitRangeWins() throws {
        let explicit = try #require(try DateInterval.parsing(start: "2026-01-01T00:00:00Z", end: "2026-01-02T00:00:00+00:00"))
        let window = TelemetryWindow.compute(logicalTime: Date(), latencyHours: 1, explicit: explicit)
        #expect(window.duration == 86_400)
        #expect(window.start == time("2026-01-01T00:00:00Z"))
    }

    @Test(arguments: [("2026-01-02T00:00:00Z", "2026-01-01T00:00:00Z"), ("2026-01-01T00:00:00Z", "2026-01-01T00:00:00Z"),
                      ("yesterday", "2026-01-01T00:00:00Z"), ("2026-01-01T00:00:00Z", "soon")])
    func badRangesAreUsageErrors(_ pair: (String, String)) {
        do {
            _ = try DateInterval.parsing(start: pair.0, end: pair.1)
            Issue.record("expected an error")
        } catch {
            #expect(error.status == .usage)
        }
    }

    @Test func startWithoutEndIsAUsageError() {
        #expect(throws: TaskShimError.self) { try DateInterval.parsing(start: "2026-01-01T00:00:00Z", end: nil) }
    }
}
