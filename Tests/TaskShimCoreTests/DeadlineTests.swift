import Foundation
import Logging
import Testing
@testable import TaskShimCore

struct DeadlineTests {
    @Test func withoutADeadlineTimeoutsStandAndRetriesRunTheirCourse() throws {
        #expect(Deadline.current == nil)
        #expect(try Deadline.bound(.seconds(30), for: "x") == .seconds(30))
    }

    @Test func timeoutsAreCutToTheTimeLeftAndNothingStartsPastIt() throws {
        try Deadline.$current.withValue(Date().addingTimeInterval(2)) {
            let bounded = try Deadline.bound(.seconds(30), for: "the call")
            #expect(bounded <= .seconds(2) && bounded > .seconds(1))
            #expect(try Deadline.bound(.milliseconds(100), for: "the call") == .milliseconds(100))
            #expect(try Deadline.bound(.zero, for: "a call without its own limit") <= .seconds(2))
        }
        let refusal = Deadline.$current.withValue(Date().addingTimeInterval(-0.1)) { () -> TaskShimError? in
            do {
                _ = try Deadline.bound(.seconds(30), for: "the request to example.com")
                return nil
            } catch {
                return error as? TaskShimError
            }
        }
        #expect(refusal?.status == .temporaryFailure, "a call started past the deadline")
        #expect(refusal?.message.contains("the request to example.com") == true)
    }

    @Test func retriesStopAtTheRunsDeadlineWithoutBeingTold() async {
        let policy = RetryPolicy(maxAttempts: 10, baseDelay: .seconds(5), maxDelay: .seconds(5))
        let calls = Counter()
        await Deadline.$current.withValue(Date().addingTimeInterval(-1)) {
            await #expect(throws: TaskShimError.self) {
                try await policy.run(shouldRetry: { _ in true }) { _ in
                    _ = calls.next()
                    throw TaskShimError.temporary("down")
                }
            }
        }
        #expect(calls.count == 1)
    }

    @Test func theRunnerHandsTheInvocationsDeadlineToEveryCallInside() async {
        struct Probe: Handler {
            let name = "probe"
            func handle(_ invocation: Invocation, context: HandlerContext) async throws -> Data {
                // A child task of the handler sees it too.
                let inChild = await Task { Deadline.current }.value
                return Data("\(Deadline.current?.timeIntervalSince1970 ?? 0) \(inChild?.timeIntervalSince1970 ?? 0)".utf8)
            }
        }
        let env = Environment([:])
        let runner = Runner(logger: Logger(label: "t", factory: { _ in SwiftLogNoOpLogHandler() }), environment: env,
                            secrets: EnvironmentSecrets(environment: env, redactor: Redactor()), output: MemoryLineWriter())
        let deadline = Date().addingTimeInterval(60)
        let outcome = await runner.run(Probe(), Invocation(trigger: .command, deadline: deadline))
        let stamp = deadline.timeIntervalSince1970
        #expect(String(decoding: outcome.output, as: UTF8.self) == "\(stamp) \(stamp)")
    }

    @Test func platformRetriedRunsKeepInProcessRetriesShort() {
        let policy = RetryPolicy(maxAttempts: 4)
        #expect(policy.bounded(for: Invocation(trigger: .http), attempts: 2).maxAttempts == 4)
        #expect(policy.bounded(for: Invocation(trigger: .pubsub), attempts: 2).maxAttempts == 2)
        #expect(policy.bounded(for: Invocation(trigger: .queue), attempts: 1).maxAttempts == 1)
        var job = Invocation(trigger: .command)
        job.platformRetries = true
        #expect(policy.bounded(for: job, attempts: 6).maxAttempts == 4, "never more than the policy's own")
    }
}
