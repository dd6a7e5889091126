import FoundationEssentials
import Synchronization

/// A circuit breaker for one dependency (a database, an endpoint host): closed, calls go through and
/// their outcomes fill a sliding window; when enough of them failed or were slow, open, calls fail
/// at once for a while; then half-open, a few trial calls decide between closed and open again.
///
/// The states and defaults follow resilience4j's, the breaker most JVM and cloud services use, scaled
/// to scheduled jobs. Errors caused by the input (data, usage, permission, configuration) do not count:
/// a broken request is not a broken dependency.
public final class CircuitBreaker: Sendable {
    public enum State: String, Sendable {
        case closed
        case open
        case halfOpen = "half_open"
    }

    public struct Configuration: Sendable, Equatable {
        /// The calls the rates are computed over.
        public enum Window: Sendable, Equatable {
            /// The last N calls.
            case count(Int)
            /// The calls of the last N seconds.
            case time(seconds: Int)
        }

        public var window: Window = .count(20)
        /// Open when this share of the window's calls failed (0...1).
        public var failureRateThreshold = 0.5
        /// Open when this share of the window's calls was slower than `slowCallDuration`.
        public var slowCallRateThreshold = 1.0
        public var slowCallDuration: Duration = .seconds(10)
        /// No verdict before the window holds this many calls.
        public var minimumCalls = 10
        /// How long calls fail fast before trial calls are let through.
        public var openDuration: Duration = .seconds(30)
        /// Trial calls in half-open state; their rates decide the next state.
        public var halfOpenCalls = 3

        public init() {}
    }

    /// Leave to make one call, to be given back to ``record(_:outcome:duration:)``.
    public struct Permit: Sendable {
        let generation: Int
    }

    /// How a call ended, as far as the breaker is concerned.
    public enum Outcome: Sendable {
        case success
        case failure
        /// Neither: the call failed because of its input, not the dependency.
        case ignored
    }

    public let name: String
    public let configuration: Configuration
    private let now: @Sendable () -> Duration
    private let onStateChange: @Sendable (_ from: State, _ to: State, _ breaker: CircuitBreaker) -> Void
    private let state: Mutex<Machine>

    /// `now` is a monotonic time (tests pass a manual one); `onStateChange` hears every transition,
    /// for the log line and the counter.
    public init(name: String, configuration: Configuration = Configuration(),
                now: @escaping @Sendable () -> Duration = CircuitBreaker.monotonicNow,
                onStateChange: @escaping @Sendable (_ from: State, _ to: State, _ breaker: CircuitBreaker) -> Void = { _, _, _ in }) {
        self.name = name
        self.configuration = configuration
        self.now = now
        self.onStateChange = onStateChange
        state = Mutex(Machine(configuration: configuration))
    }

    private static let origin = ContinuousClock.now
    /// Time since the process started, monotonic.
    public static let monotonicNow: @Sendable () -> Duration = { ContinuousClock.now - origin }

    /// The state now (an open breaker whose wait is over is half-open).
    public var currentState: State {
        let time = now()
        let (current, transition) = state.withLock { machine in
            let transition = machine.advance(at: time, configuration: configuration)
            return (machine.state, transition)
        }
        if let (from, to) = transition { onStateChange(from, to, self) }
        return current
    }

    /// How many times it has opened.
    public var openedCount: Int { state.withLock { $0.openedCount } }

    /// A permit for one call, or a temporary error (exit 75) when the breaker is open or its trial
    /// calls are all taken.
    public func acquire() throws(TaskShimError) -> Permit {
        let time = now()
        var transition: (State, State)?
        let result: Result<Permit, TaskShimError> = state.withLock { machine in
            transition = machine.advance(at: time, configuration: configuration)
            switch machine.state {
            case .closed:
                return .success(Permit(generation: machine.generation))
            case .open:
                let remaining = configuration.openDuration - (time - machine.openedAt)
                return .failure(.temporary(
                    "The circuit breaker for \(name) is open: \(machine.lastVerdict). Calls fail at once for another \(Self.seconds(remaining)) s.",
                    hint: "The dependency looks down; the run can be retried later (exit 75)."))
            case .halfOpen:
                guard machine.trialsIssued < configuration.halfOpenCalls else {
                    return .failure(.temporary(
                        "The circuit breaker for \(name) is half-open and its \(configuration.halfOpenCalls) trial calls are under way.",
                        hint: "The run can be retried in a moment (exit 75)."))
                }
                machine.trialsIssued += 1
                return .success(Permit(generation: machine.generation))
            }
        }
        if let (from, to) = transition { onStateChange(from, to, self) }
        return try result.get()
    }

    /// Records how the call made under `permit` ended. Outcomes of calls from an earlier state (the
    /// breaker changed while they ran) are dropped.
    public func record(_ permit: Permit, outcome: Outcome, duration: Duration) {
        let time = now()
        let transition: (State, State)? = state.withLock { machine in
            guard permit.generation == machine.generation, outcome != .ignored else {
                if permit.generation == machine.generation, machine.state == .halfOpen { machine.trialsIssued -= 1 }
                return nil
            }
            return machine.record(failed: outcome == .failure, slow: duration >= configuration.slowCallDuration,
                                  at: time, configuration: configuration)
        }
        if let (from, to) = transition { onStateChange(from, to, self) }
    }

    /// Runs `operation` under a permit and records its outcome: errors `isFailure` accepts count as
    /// failures (by default every error but those caused by the input), the rest are ignored.
    public func run<T: Sendable>(isFailure: @Sendable (any Error) -> Bool = CircuitBreaker.countsAsFailure,
                                 _ operation: () async throws -> T) async throws -> T {
        let permit = try acquire()
        let clock = ContinuousClock()
        let start = clock.now
        do {
            let value = try await operation()
            record(permit, outcome: .success, duration: clock.now - start)
            return value
        } catch {
            record(permit, outcome: isFailure(error) ? .failure : .ignored, duration: clock.now - start)
            throw error
        }
    }

    /// The default: a dependency's fault (temporary, unavailable, protocol, I/O, or an unknown
    /// error), not the caller's (bad data, usage, permission, configuration) nor a cancellation.
    public static let countsAsFailure: @Sendable (any Error) -> Bool = { error in
        if error is CancellationError { return false }
        guard let error = error as? TaskShimError else { return true }
        switch error.status {
        case .dataError, .usage, .noPermission, .configuration, .noInput, .noHandler, .ok: return false
        default: return true
        }
    }

    static func seconds(_ duration: Duration) -> String {
        String(Int(max(0, duration.seconds).rounded(.up)))
    }

    /// The state machine, guarded by the mutex.
    private struct Machine {
        var state = State.closed
        /// Bumped on every transition, so late outcomes of an earlier state are dropped.
        var generation = 0
        var openedAt: Duration = .zero
        var openedCount = 0
        var lastVerdict = ""
        var window: SlidingWindow
        var trialsIssued = 0
        var trialCalls = 0
        var trialFailures = 0
        var trialSlow = 0

        init(configuration: Configuration) {
            window = SlidingWindow(configuration.window)
        }

        /// Open to half-open once the open duration has passed.
        mutating func advance(at time: Duration, configuration: Configuration) -> (State, State)? {
            guard state == .open, time - openedAt >= configuration.openDuration else { return nil }
            return move(to: .halfOpen)
        }

        mutating func record(failed: Bool, slow: Bool, at time: Duration, configuration: Configuration) -> (State, State)? {
            switch state {
            case .closed:
                window.add(failed: failed, slow: slow, at: time)
                let (calls, failures, slowCalls) = window.totals(at: time)
                guard calls >= configuration.minimumCalls else { return nil }
                if let verdict = Self.verdict(calls: calls, failures: failures, slow: slowCalls, configuration: configuration) {
                    lastVerdict = verdict
                    openedAt = time
                    return move(to: .open)
                }
                return nil
            case .halfOpen:
                trialCalls += 1
                if failed { trialFailures += 1 }
                if slow { trialSlow += 1 }
                guard trialCalls >= configuration.halfOpenCalls else { return nil }
                if let verdict = Self.verdict(calls: trialCalls, failures: trialFailures, slow: trialSlow, configuration: configuration) {
                    lastVerdict = "trial calls: " + verdict
                    openedAt = time
                    return move(to: .open)
                }
                return move(to: .closed)
            case .open:
                return nil
            }
        }

        static func verdict(calls: Int, failures: Int, slow: Int, configuration: Configuration) -> String? {
            if Double(failures) / Double(calls) >= configuration.failureRateThreshold {
                return "\(failures) of the last \(calls) calls failed"
            }
            if Double(slow) / Double(calls) >= configuration.slowCallRateThreshold {
                return "\(slow) of the last \(calls) calls took \(CircuitBreaker.seconds(configuration.slowCallDuration)) s or more"
            }
            return nil
        }

        mutating func move(to next: State) -> (State, State) {
            let previous = state
            state = next
            generation += 1
            window.reset()
            trialsIssued = 0
            trialCalls = 0
            trialFailures = 0
            trialSlow = 0
            if next == .open { openedCount += 1 }
            return (previous, next)
        }
    }
}
