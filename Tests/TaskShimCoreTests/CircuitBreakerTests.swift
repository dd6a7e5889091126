import Foundation
import Logging
import Synchronization
import Testing
@testable import TaskShimCore

/// A clock the test moves by hand.
final class ManualTime: Sendable {
    private let value = Mutex<Duration>(.seconds(1000))
    var now: Duration { value.withLock { $0 } }
    func advance(by step: Duration) { value.withLock { $0 += step } }
    var reader: @Sendable () -> Duration { { self.now } }
}

/// Every transition a breaker reported.
final class Transitions: Sendable {
    private let list = Mutex<[String]>([])
    var all: [String] { list.withLock { $0 } }
    var hook: @Sendable (CircuitBreaker.State, CircuitBreaker.State, CircuitBreaker) -> Void {
        { from, to, _ in self.list.withLock { $0.append("\(from.rawValue)->\(to.rawValue)") } }
    }
}

struct CircuitBreakerTests {
    func breaker(_ configure: (inout CircuitBreaker.Configuration) -> Void = { _ in }) -> (CircuitBreaker, ManualTime, Transitions) {
        var configuration = CircuitBreaker.Configuration()
        configuration.window = .count(10)
        configuration.minimumCalls = 4
        configuration.openDuration = .seconds(30)
        configuration.halfOpenCalls = 2
        configure(&configuration)
        let time = ManualTime(), transitions = Transitions()
        return (CircuitBreaker(name: "db.internal:5432", configuration: configuration, now: time.reader, onStateChange: transitions.hook),
                time, transitions)
    }

    func call(_ breaker: CircuitBreaker, _ outcome: CircuitBreaker.Outcome, taking duration: Duration = .milliseconds(5)) throws {
        let permit = try breaker.acquire()
        breaker.record(permit, outcome: outcome, duration: duration)
    }

    @Test func opensOnlyOnceTheMinimumNumberOfCallsIsReached() throws {
        let (breaker, _, transitions) = breaker()
        for _ in 0..<3 { try call(breaker, .failure) }
        #expect(breaker.currentState == .closed, "three failures, but the minimum is four calls")
        try call(breaker, .failure)
        #expect(breaker.currentState == .open)
        #expect(transitions.all == ["closed->open"])
        #expect(breaker.openedCount == 1)
    }

    @Test func staysClosedBelowTheFailureRate() throws {
        let (breaker, _, _) = breaker()
        for index in 0..<20 { try call(breaker, index % 3 == 2 ? .failure : .success) }  // a third fail: under 50%
        #expect(breaker.currentState == .closed)
    }

    @Test func anOpenBreakerFailsFastWithAnErrorThatSaysWhyAndWhen() throws {
        let (breaker, time, _) = breaker()
        for _ in 0..<4 { try call(breaker, .failure) }
        time.advance(by: .seconds(10))
        do {
            _ = try breaker.acquire()
            Issue.record("an open breaker let a call through")
        } catch {
            #expect(error.status == .temporaryFailure, "exit 75 in job modes")
            #expect(error.message.contains("db.internal:5432"))
            #expect(error.message.contains("4 of the last 4 calls failed"))
            #expect(error.message.contains("another 20 s"))
        }
    }

    @Test func afterTheWaitTrialCallsCloseItAgain() throws {
        let (breaker, time, transitions) = breaker()
        for _ in 0..<4 { try call(breaker, .failure) }
        time.advance(by: .seconds(30))
        #expect(breaker.currentState == .halfOpen)
        let first = try breaker.acquire()
        let second = try breaker.acquire()
        #expect(throws: TaskShimError.self, "only two trial calls") { _ = try breaker.acquire() }
        breaker.record(first, outcome: .success, duration: .milliseconds(5))
        breaker.record(second, outcome: .success, duration: .milliseconds(5))
        #expect(breaker.currentState == .closed)
        #expect(transitions.all == ["closed->open", "open->half_open", "half_open->closed"])
    }

    @Test func aFailedTrialOpensItForAnotherWait() throws {
        let (breaker, time, transitions) = breaker()
        for _ in 0..<4 { try call(breaker, .failure) }
        time.advance(by: .seconds(31))
        try call(breaker, .failure)
        try call(breaker, .success)
        #expect(breaker.currentState == .open)
        time.advance(by: .seconds(29))
        #expect(breaker.currentState == .open)
        time.advance(by: .seconds(1))
        #expect(breaker.currentState == .halfOpen)
        #expect(transitions.all == ["closed->open", "open->half_open", "half_open->open", "open->half_open"])
        #expect(breaker.openedCount == 2)
    }

    @Test func slowCallsOpenItToo() throws {
        let (breaker, _, _) = breaker { $0.slowCallDuration = .seconds(2); $0.slowCallRateThreshold = 0.75 }
        for _ in 0..<3 { try call(breaker, .success, taking: .seconds(3)) }
        try call(breaker, .success, taking: .milliseconds(1))
        #expect(breaker.currentState == .open, "three of four calls slow: 75%")
    }

    @Test func aTimeWindowForgetsOldCalls() throws {
        let (breaker, time, _) = breaker { $0.window = .time(seconds: 10) }
        for _ in 0..<3 { try call(breaker, .failure) }
        time.advance(by: .seconds(11))
        try call(breaker, .failure)
        #expect(breaker.currentState == .closed, "the first three left the window")
        for _ in 0..<3 { try call(breaker, .failure) }
        #expect(breaker.currentState == .open)
    }

    @Test func errorsCausedByTheInputDoNotCount() async throws {
        let (breaker, _, _) = breaker()
        for _ in 0..<10 {
            await #expect(throws: TaskShimError.self) {
                try await breaker.run { throw TaskShimError.data("row 3 is not a date") }
            }
        }
        #expect(breaker.currentState == .closed)
        for _ in 0..<4 {
            await #expect(throws: TaskShimError.self) { try await breaker.run { throw TaskShimError.temporary("connection refused") } }
        }
        #expect(breaker.currentState == .open)
    }

    @Test func outcomesFromBeforeATransitionAreDropped() throws {
        let (breaker, time, _) = breaker()
        let late = try breaker.acquire()
        for _ in 0..<4 { try call(breaker, .failure) }
        time.advance(by: .seconds(30))
        #expect(breaker.currentState == .halfOpen)
        breaker.record(late, outcome: .failure, duration: .milliseconds(5))  // from the closed state
        try call(breaker, .success)
        try call(breaker, .success)
        #expect(breaker.currentState == .closed)
    }
}

struct RetryBudgetTests {
    @Test func retriesDrainTheBucketAndSuccessesRefillIt() {
        var configuration = RetryBudget.Configuration()
        configuration.capacity = 20
        let budget = RetryBudget(configuration: configuration)
        #expect(budget.acquireRetry(afterTimeout: false) == 5)
        #expect(budget.acquireRetry(afterTimeout: true) == 10)
        #expect(budget.acquireRetry(afterTimeout: true) == nil, "5 left: a timeout retry costs 10")
        #expect(budget.acquireRetry(afterTimeout: false) == 5)
        #expect(budget.available == 0)
        budget.recordSuccess(retryCost: 5)
        #expect(budget.available == 5)
        for _ in 0..<30 { budget.recordSuccess(retryCost: nil) }
        #expect(budget.available == 20, "never above capacity")
    }
}

struct DependenciesTests {
    @Test func theEnvironmentConfiguresBreakersAndBudgets() throws {
        let quiet = Logger(label: "t", factory: { _ in SwiftLogNoOpLogHandler() })
        let dependencies = try Dependencies(environment: Environment([
            "TASKSHIM_BREAKER_WINDOW": "60s", "TASKSHIM_BREAKER_FAILURE_RATE": "25", "TASKSHIM_BREAKER_MIN_CALLS": "5",
            "TASKSHIM_BREAKER_OPEN": "120", "TASKSHIM_BREAKER_SLOW_CALL": "2.5", "TASKSHIM_RETRY_BUDGET": "50",
        ]), logger: quiet)
        #expect(dependencies.breakerConfiguration.window == .time(seconds: 60))
        #expect(dependencies.breakerConfiguration.failureRateThreshold == 0.25)
        #expect(dependencies.breakerConfiguration.minimumCalls == 5)
        #expect(dependencies.breakerConfiguration.openDuration == .seconds(120))
        #expect(dependencies.breakerConfiguration.slowCallDuration == .milliseconds(2500))
        #expect(dependencies.budget(for: "db").available == 50)
        #expect(dependencies.breaker(for: "db") === dependencies.breaker(for: "db"), "one breaker per dependency")
        #expect(dependencies.breaker(for: "db") !== dependencies.breaker(for: "api"))
        #expect(throws: TaskShimError.self) { try Dependencies(environment: Environment(["TASKSHIM_BREAKER_WINDOW": "lots"]), logger: quiet) }
        #expect(throws: TaskShimError.self) { try Dependencies(environment: Environment(["TASKSHIM_BREAKER_FAILURE_RATE": "0"]), logger: quiet) }
    }
}
