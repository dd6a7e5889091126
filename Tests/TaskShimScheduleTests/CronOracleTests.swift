import Foundation
import Testing
import TestSupport
@testable import TaskShimSchedule

/// Next fire times compared with croniter's (PyPI), an implementation that is not ours.
struct CronOracleTests {
    struct Case: Codable {
        var expr: String
        var start: Int64
        var tz: String
        var count: Int
    }

    /// A deterministic generator (SplitMix64), so a failure reproduces.
    struct Generator {
        var state: UInt64
        mutating func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
        mutating func int(_ range: ClosedRange<Int>) -> Int { range.lowerBound + Int(next() % UInt64(range.count)) }
        mutating func chance(_ percent: Int) -> Bool { int(1...100) <= percent }
    }

    static func field(_ g: inout Generator, _ range: ClosedRange<Int>, star: Int = 35) -> String {
        if g.chance(star) { return "*" }
        switch g.int(0...4) {
        case 0: return String(g.int(range))
        // (Ranges never a-a: croniter misreads those.)
        case 1:
            let a = g.int(range.lowerBound...range.upperBound - 1), b = g.int(a + 1...range.upperBound)
            return "\(a)-\(b)"
        case 2: return "*/\(g.int(2...max(2, (range.upperBound - range.lowerBound) / 2)))"
        case 3:
            let a = g.int(range.lowerBound...range.upperBound - 1), b = g.int(a + 1...range.upperBound)
            return "\(a)-\(b)/\(g.int(1...5))"
        default:
            return Set((0..<g.int(2...4)).map { _ in g.int(range) }).sorted().map(String.init).joined(separator: ",")
        }
    }

    static func expression(_ g: inout Generator) -> String {
        var fields = [field(&g, 0...59, star: 10), field(&g, 0...23, star: 30), field(&g, 1...31, star: 60), field(&g, 1...12, star: 60),
                      field(&g, 0...6, star: 60)]
        if g.chance(10) { fields[2] = "L" }
        if g.chance(10) {
            // d#k with a restricted day of the month: croniter intersects the two, we (as Vixie cron does
            // for any two restricted day fields) run on either; compared only with * there.
            fields[4] = "\(g.int(0...6))#\(g.int(1...4))"
            fields[2] = "*"
        }
        if g.chance(25) { fields.insert(field(&g, 0...59, star: 20), at: 0) }
        return fields.joined(separator: " ")
    }

    @Test func nextFireTimesMatchCroniter() async throws {
        var g = Generator(state: 20261202)
        let zones = ["UTC", "America/New_York", "Europe/Berlin", "Australia/Sydney", "Asia/Kolkata", "America/St_Johns", "Pacific/Chatham"]
        var cases: [Case] = []
        while cases.count < 3000 {
            let expr = Self.expression(&g)
            guard (try? CronExpression(parsing: expr)) != nil else { continue }
            // Starts from 2020 to 2035, at any second.
            cases.append(Case(expr: expr, start: Int64(g.int(1_577_836_800...2_082_758_399)), tz: zones[g.int(0...zones.count - 1)], count: 20))
        }
        let input = try cases.map { String(decoding: try JSONEncoder().encode($0), as: UTF8.self) }.joined(separator: "\n") + "\n"
        let oracle = try await offPool { try runProcess("/usr/bin/env", ["python3", RepositoryPaths.path("Tests/Support/croniter_oracle.py")], input: Data(input.utf8)) }
        try #require(oracle.status == 0, "croniter failed (pip install croniter): \(oracle.stderr)")
        let answers = oracle.stdout.split(separator: "\n")
        try #require(answers.count == cases.count)
        var compared = 0, skippedNearTransitions = 0, refused = 0
        var mismatches: [String] = []
        for (test, answer) in zip(cases, answers) {
            guard let expected = try JSONSerialization.jsonObject(with: Data(answer.utf8)) as? [Int64] else {
                // croniter gives up on some d#k combined with a day of the month ("failed to find next date").
                refused += 1
                continue
            }
            let zone = try ScheduleTimeZone(named: test.tz)
            let schedule = try Schedule(parsing: test.expr)
            let ours = schedule.upcoming(test.count, after: Date(timeIntervalSince1970: Double(test.start)), in: zone)
                .map { Int64($0.timeIntervalSince1970) }
            if ours == expected {
                compared += 1
                continue
            }
            // Around a DST transition our policy is documented (a skipped time runs once at the
            // transition, a repeated one once); croniter's differs. Only there may the lists differ.
            let firstDifference = zip(ours, expected).enumerated().first { $0.element.0 != $0.element.1 }?.offset ?? min(ours.count, expected.count)
            let at = firstDifference < ours.count ? ours[firstDifference] : expected[min(firstDifference, expected.count - 1)]
            let other = firstDifference < expected.count ? expected[firstDifference] : at
            if zone.nextTransition(after: Swift.min(at, other) - 2 * 86400, within: Swift.abs(at - other) + 4 * 86400) != nil {
                skippedNearTransitions += 1
                continue
            }
            mismatches.append("\(test.expr) from \(test.start) in \(test.tz): ours \(ours.prefix(firstDifference + 2)) croniter \(expected.prefix(firstDifference + 2))")
        }
        #expect(mismatches.isEmpty, "\(mismatches.count) of \(cases.count) differ:\n\(mismatches.prefix(10).joined(separator: "\n"))")
        #expect(compared > 2500, "compared \(compared), \(skippedNearTransitions) near DST transitions, \(refused) refused by croniter")
    }
}
