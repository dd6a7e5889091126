import Foundation
import Logging
import Testing
import TestSupport
@testable import TaskShimAudit
@testable import TaskShimCore

/// The audit trail against tests/Support/audit_receiver.py, a loopback HEC and webhook receiver.
@Suite struct AuditDeliveryTests {
    static let secret = "whsec_" + Data((0..<24).map { UInt8($0 * 7 % 256) }).base64EncodedString()
    let logger = Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() })

    func environment(_ receiver: AuditReceiver, spool: TemporaryDirectory, _ extra: [String: String] = [:]) -> Environment {
        Environment([
            "SPLUNK_HEC_URL": receiver.hecURL, "SPLUNK_HEC_TOKEN": receiver.token, "SPLUNK_HEC_INDEX": "audit",
            "AUDIT_WEBHOOK_URL": receiver.webhookURL, "AUDIT_WEBHOOK_SECRET": receiver.secret,
            "TASKSHIM_AUDIT_SPOOL_DIR": spool.path, "TASKSHIM_AUDIT_MAX_BACKOFF": "0.2", "HOSTNAME": "worker-1",
        ].merging(extra) { _, new in new })
    }

    func open(_ environment: Environment) throws -> AuditLog {
        var breaker = CircuitBreaker.Configuration()
        breaker.openDuration = .milliseconds(300)
        return try #require(try AuditLog.start(AuditConfiguration(environment: environment), standardOutput: MemoryLineWriter(),
                                               dependencies: Dependencies(breaker: breaker, logger: logger), redactor: Redactor(), logger: logger))
    }

    func record(_ audit: AuditLog, _ range: Range<Int>, poison: Int? = nil) throws -> [String] {
        try range.map { n in
            var fields: [(String, JSONValue)] = [("n", .number(Double(n)))]
            if n == poison { fields.append(("poison", .bool(true))) }
            let event = AuditEvent(action: "test.recorded", fields: fields)
            try audit.record(event)
            return event.id
        }
    }

    /// Each id once, in the order recorded.
    func ids(_ events: [[String: Any]]) -> [String] { events.compactMap { $0["id"] as? String } }

    @Test func everyEventArrivesOnceAndInOrderAtBothSinks() async throws {
        let receiver = try await AuditReceiver.start(token: "hec-token-1", secret: Self.secret)
        let spool = try TemporaryDirectory()
        let audit = try open(environment(receiver, spool: spool, ["SPLUNK_HEC_ACK": "true"]))
        let sent = try record(audit, 0..<60)
        let hec = try await receiver.waitForEvents(sink: "splunk", count: 60)
        let hooks = try await receiver.waitForEvents(sink: "webhook", count: 60)
        await audit.close()
        #expect(ids(hec) == sent)
        #expect(ids(hooks) == sent)
        #expect(hooks.allSatisfy { $0["verified"] as? Bool == true && $0["type"] as? String == "audit.test.recorded" })
        #expect(hec.contains { ($0["batch"] as? Int ?? 0) > 1 }, "several events per HEC request")
        let envelope = try #require(hec.first?["envelope"] as? [String: Any])
        #expect(envelope["host"] as? String == "worker-1")
        #expect(envelope["index"] as? String == "audit")
        #expect(envelope["source"] as? String == "taskshim")
        #expect(envelope["sourcetype"] as? String == "_json")
        let time = try #require(envelope["time"] as? Double)
        #expect(abs(time - Date().timeIntervalSince1970) < 60)
        #expect((hec.first?["event"] as? [String: Any])?["n"] as? Int == 0)
        #expect(receiver.events.count == 120, "nothing delivered twice")
    }

    @Test func anOutageWithRefusals503sAndSlowAnswersLosesNothing() async throws {
        let receiver = try AuditReceiver(token: "hec-token-2", secret: Self.secret)  // down: connections refused
        let spool = try TemporaryDirectory()
        let audit = try open(environment(receiver, spool: spool))
        var sent = try record(audit, 0..<20)
        try await Task.sleep(for: .milliseconds(600))
        try receiver.setMode("503")
        try await receiver.bringUp()
        sent += try record(audit, 20..<40)
        try await Task.sleep(for: .milliseconds(600))
        #expect(receiver.events.isEmpty, "503s deliver nothing")
        try receiver.setMode("slow=0.3")
        sent += try record(audit, 40..<45)
        try await Task.sleep(for: .milliseconds(400))
        try receiver.setMode("")
        sent += try record(audit, 45..<50)
        let hec = try await receiver.waitForEvents(sink: "splunk", count: 50)
        let hooks = try await receiver.waitForEvents(sink: "webhook", count: 50)
        await audit.close()
        #expect(ids(hec) == sent)
        #expect(ids(hooks) == sent)
    }

    @Test func aReceiverTakenDownMidStreamGetsTheRestWhenBack() async throws {
        let receiver = try await AuditReceiver.start(token: "hec-token-3", secret: Self.secret)
        let spool = try TemporaryDirectory()
        let audit = try open(environment(receiver, spool: spool))
        var sent = try record(audit, 0..<10)
        _ = try await receiver.waitForEvents(sink: "webhook", count: 10)
        try await receiver.takeDown()
        sent += try record(audit, 10..<30)
        try await Task.sleep(for: .milliseconds(500))
        try await receiver.bringUp()
        let hec = try await receiver.waitForEvents(sink: "splunk", count: 30)
        let hooks = try await receiver.waitForEvents(sink: "webhook", count: 30)
        await audit.close()
        #expect(ids(hec) == sent)
        #expect(ids(hooks) == sent)
    }

    @Test func anEventTheReceiverRefusesIsSetAsideAndTheRestDelivered() async throws {
        let receiver = try await AuditReceiver.start(token: "hec-token-4", secret: Self.secret)
        let spool = try TemporaryDirectory()
        let audit = try open(environment(receiver, spool: spool, ["AUDIT_SINKS": "splunk"]))
        let sent = try record(audit, 0..<10, poison: 4)
        let hec = try await receiver.waitForEvents(sink: "splunk", count: 9)
        await audit.flush()
        await audit.close()
        #expect(ids(hec) == sent.enumerated().filter { $0.offset != 4 }.map(\.element))
        let rejected = try String(contentsOfFile: spool.file("rejected-splunk.jsonl"), encoding: .utf8)
        #expect(rejected.contains(sent[4]))
        #expect(rejected.split(separator: "\n").count == 1)
    }

    @Test func aWrongTokenKeepsTheEventsSpooledUntilItIsFixed() async throws {
        let receiver = try await AuditReceiver.start(token: "hec-token-5", secret: Self.secret)
        let spool = try TemporaryDirectory()
        let wrong = try open(environment(receiver, spool: spool, ["AUDIT_SINKS": "splunk", "SPLUNK_HEC_TOKEN": "not-the-token"]))
        let sent = try record(wrong, 0..<5)
        try await Task.sleep(for: .milliseconds(500))
        await wrong.close()
        #expect(receiver.events.isEmpty)
        // The next process, with the right token, delivers what the first one spooled.
        let right = try open(environment(receiver, spool: spool, ["AUDIT_SINKS": "splunk"]))
        let hec = try await receiver.waitForEvents(sink: "splunk", count: 5)
        await right.close()
        #expect(ids(hec) == sent)
    }

    @Test func flushWaitsForDeliveryButNotForAFailingSink() async throws {
        let receiver = try await AuditReceiver.start(token: "hec-token-6", secret: Self.secret)
        try receiver.setMode("slow=0.3")
        let spool = try TemporaryDirectory()
        // A flush limit far above the bound below, so the bound tells "not waited for" from "waited until
        // the limit" even on a loaded machine.
        let audit = try open(environment(receiver, spool: spool, ["AUDIT_SINKS": "webhook", "TASKSHIM_AUDIT_FLUSH_TIMEOUT": "15"]))
        _ = try record(audit, 0..<1)
        await audit.flush()
        #expect(receiver.events(sink: "webhook").count == 1, "flushed: delivered, not just spooled")
        try await receiver.takeDown()
        _ = try record(audit, 1..<2)
        try await Task.sleep(for: .milliseconds(300))  // the first failed attempt
        let start = ContinuousClock.now
        await audit.flush()
        #expect(ContinuousClock.now - start < .seconds(5), "a failing sink is not waited for (the limit is 15 s): its events are on disk")
        await audit.close()
    }
}
