import Foundation
import Synchronization
import Testing
import TestSupport
@testable import TaskShim

extension ProcessDrivingTests {
/// On Lambda the process may be frozen once it asks for the next event, so the audit trail is
/// delivered before it asks.
@Suite struct LambdaAuditTests {
    /// Notes, when each invocation starts, how many audit events the receiver has.
    final class Observer: Handler, @unchecked Sendable {
        let name = "observer"
        let receiver: AuditReceiver
        let seen = Mutex<[Int]>([])
        init(_ receiver: AuditReceiver) { self.receiver = receiver }
        func handle(_ invocation: Invocation, context: HandlerContext) async throws -> Data {
            let count = receiver.events(sink: "webhook").count
            seen.withLock { $0.append(count) }
            return Data("{}".utf8)
        }
    }

    @Test func eachRunsEventIsDeliveredBeforeTheNextEventIsRequested() async throws {
        let receiver = try await AuditReceiver.start(token: "t", secret: "whsec_" + Data("lambda-audit-key".utf8).base64EncodedString())
        // Slow answers: delivery in the background alone would land after the next invocation started.
        try receiver.setMode("slow=0.3")
        let api = try await FakeRuntimeAPI.start(events: [["body": "{}"], ["body": "{}"], ["body": "{}"]])
        let spool = try TemporaryDirectory()
        let observer = Observer(receiver)
        var registry = HandlerRegistry.builtIn
        registry.register(observer)
        let io = Runtime.IO(environment: Environment(["AWS_LAMBDA_RUNTIME_API": api.runtimeAPI, "_HANDLER": "observer",
                                                      "AUDIT_WEBHOOK_URL": receiver.webhookURL, "AUDIT_WEBHOOK_SECRET": receiver.secret,
                                                      "TASKSHIM_AUDIT_SPOOL_DIR": spool.path]),
                            standardOutput: MemoryLineWriter(), standardError: MemoryLineWriter(), isTerminal: false)
        let status = await Runtime(registry: registry).run(arguments: ["lambda", "--max-invocations", "3"], io: io)
        #expect(status == 0)
        #expect(observer.seen.withLock { $0 } == [0, 1, 2])
        #expect(receiver.events(sink: "webhook").count == 3, "the last one at shutdown")
    }
}
}
