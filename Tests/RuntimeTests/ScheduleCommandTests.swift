import Foundation
import Testing
import TestSupport

extension ProcessDrivingTests {
/// `runtime schedule explain` through the binary.
@Suite struct ScheduleCommandTests {
    @Test func explainPrintsTheNormalisedFormAndTheNextTimesInTheZone() async throws {
        let text = try await runProcessAsync(RepositoryPaths.runtimeBinary, ["schedule", "explain", "Mon-Fri 09:00", "--time-zone", "Europe/Berlin",
                                                                             "--count", "2", "--after", "2026-03-27T00:00:00Z"])
        #expect(text.status == 0, "\(text.stderr)")
        #expect(text.stdout.contains("normalized  0 0 9 * * 1-5"))
        #expect(text.stdout.contains("2026-03-27T09:00:00+01:00  (2026-03-27T08:00:00Z)"))
        #expect(text.stdout.contains("2026-03-30T09:00:00+02:00  (2026-03-30T07:00:00Z)"), "after the change to summer time")
        let json = try await runProcessAsync(RepositoryPaths.runtimeBinary, ["schedule", "explain", "30 2 * * *", "-z", "America/New_York", "-n", "2",
                                                                             "--after", "2026-03-07T12:00:00Z", "--json"])
        let object = try #require(try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any])
        #expect(object["next"] as? [String] == ["2026-03-08T03:00:00-04:00", "2026-03-09T02:30:00-04:00"], "the skipped 02:30 runs at the transition")
        #expect(object["normalized"] as? String == "0 30 2 * * *")
    }

    @Test func aBadScheduleOrZoneIsAUsageErrorThatSaysWhatWorks() async throws {
        for (arguments, message) in [(["0 9 * *"], "has 4 field(s)"), (["0 9 * * *", "-z", "Mars/Olympus"], "Mars/Olympus is not in"),
                                     (["0 9 * * *", "-n", "0"], "--count must be from 1 to 1000"), (["0 9 * * *", "--after", "yesterday"], "not an RFC 3339 time")] {
            let result = try await runProcessAsync(RepositoryPaths.runtimeBinary, ["schedule", "explain"] + arguments)
            #expect(result.status == 64 && result.stderr.contains(message), "\(arguments): \(result.stderr)")
        }
    }
}
}
