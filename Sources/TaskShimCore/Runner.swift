import FoundationEssentials
import Logging

/// Runs one invocation of a handler and writes the run-summary line every contract relies on:
/// handler, trigger, logical time, attempt, duration, outcome, exit code and the handler's counters.
public struct Runner: Sendable {
    /// How a run ended.
    public struct Outcome: Sendable {
        public var status: ExitStatus
        public var output: Data
        public var error: TaskShimError?
        public var duration: Duration
    }

    public var logger: Logger
    /// Circuit breakers and retry budgets per dependency, shared by the runs (and their contracts' own calls).
    public var dependencies: Dependencies { services.dependencies }
    /// Environment, secrets, output, dependencies and the audit trail (which receives one
    /// ``AuditEvent`` per run): what every run's ``HandlerContext`` shares.
    private let services: HandlerContext.Services
    private let deadlines = DeadlineClock()

    public init(logger: Logger, environment: Environment, secrets: any SecretsProvider, output: any LineWriter,
                dependencies: Dependencies = Dependencies(), audit: any AuditRecorder = NoAudit()) {
        self.logger = logger
        services = HandlerContext.Services(environment: environment, secrets: secrets, output: output, dependencies: dependencies, audit: audit)
    }

    /// The logger for one invocation, carrying its identifiers on every line.
    public func invocationLogger(_ handler: any Handler, _ invocation: Invocation) -> Logger {
        RunIdentity(handler, invocation).logger(from: logger)
    }

    /// Who stops a handler that runs past its invocation's deadline.
    public enum DeadlineEnforcement: Sendable {
        /// The runner: the handler runs in a child task, cancelled when the deadline passes; the calling
        /// task is never cancelled (a loop running one invocation after another).
        case childTask
        /// The caller: the calling task exists for this one run, and its owner cancels it at the
        /// deadline (an HTTP server's request task, timed by its connection's timer). The handler runs
        /// in it, with no child task and no timer of the runner's: about a fifth of a small request's
        /// cost. A run cancelled past its deadline fails as timed out, as with `childTask`.
        case callerCancels
    }

    /// Runs the handler once. With `writer`, a ``StreamingHandler`` writes its response there part by
    /// part (the outcome's `output` is then empty); other handlers return theirs whole. `annotate` adds
    /// the contract's fields to the run-summary line (an HTTP server's `httpRequest`). It runs on the
    /// caller's executor (`nonisolated(nonsending)`): no executor switch into and out of every run.
    public nonisolated(nonsending) func run(_ handler: any Handler, _ invocation: Invocation, streamingTo writer: (any ResponseWriter)? = nil,
                    deadline enforcement: DeadlineEnforcement = .childTask,
                    annotate: (Outcome) -> Logger.Metadata = { _ in [:] }) async -> Outcome {
        let identity = RunIdentity(handler, invocation)
        let metrics = RunMetrics()
        let context = HandlerContext(logger: logger, identity: identity, metrics: metrics, services: services)
        let clock = ContinuousClock()
        let start = clock.now
        var outcome: Outcome
        let result: Result<Data, TaskShimError>
        if let deadline = invocation.deadline, enforcement == .childTask {
            result = await Self.race(deadline: deadline, clock: deadlines) { try await Self.call(handler, invocation, context, writer) }
        } else {
            result = await Self.inCallingTask(deadline: invocation.deadline) { try await Self.call(handler, invocation, context, writer) }
        }
        switch result {
        case .success(let data):
            outcome = Outcome(status: .ok, output: data, error: nil, duration: clock.now - start)
        case .failure(let error):
            outcome = Outcome(status: error.status, output: Data(), error: error, duration: clock.now - start)
        }
        if services.isAuditing {
            do {
                try services.audit.record(AuditEvent(invocation: invocation, handler: handler.name, status: outcome.status,
                                            duration: outcome.duration, error: outcome.error))
            } catch {
                // The trail refused the event (a full spool set to refuse): the run fails so it is retried.
                if outcome.error == nil { outcome = Outcome(status: error.status, output: Data(), error: error, duration: outcome.duration) }
            }
        }
        // Built only when it is written: a busy HTTP server at LOG_LEVEL=warning pays nothing for it.
        guard logger.logLevel <= (outcome.error == nil ? .info : .error) else { return outcome }
        let logger = identity.logger(from: logger)
        var summary: Logger.Metadata = [
            "trigger": .string(invocation.trigger.rawValue),
            "logical_time": .string(Timestamp.format(invocation.logicalTime, fractional: false)),
            "duration_ms": .stringConvertible(Self.milliseconds(outcome.duration)),
            "outcome": .string(outcome.status == .ok ? "ok" : outcome.status.name),
            "exit_code": .stringConvertible(Int(outcome.status.rawValue)),
            "dry_run": .stringConvertible(invocation.dryRun),
        ]
        for (name, value) in metrics.snapshot { summary[name] = .stringConvertible(value) }
        summary.merge(annotate(outcome)) { current, _ in current }
        if let error = outcome.error {
            summary["error"] = .string(error.description)
            logger.error("run failed", metadata: summary)
        } else {
            logger.info("run finished", metadata: summary)
        }
        return outcome
    }

    /// The handler's response: streamed to `writer` when it streams and there is one, else returned.
    nonisolated(nonsending) static func call(_ handler: any Handler, _ invocation: Invocation, _ context: HandlerContext,
                     _ writer: (any ResponseWriter)?) async throws -> Data {
        if let writer, let streaming = handler as? any StreamingHandler {
            try await streaming.stream(invocation, context: context, to: writer)
            return Data()
        }
        return try await handler.handle(invocation, context: context)
    }

    /// Runs `body` in the calling task (no closure copied to the heap, no child task). With a
    /// deadline, the caller cancels the task when it passes, and a run cancelled past it fails as
    /// timed out.
    nonisolated(nonsending) static func inCallingTask(deadline: Date?, _ body: nonisolated(nonsending) () async throws -> Data) async -> Result<Data, TaskShimError> {
        guard let deadline else {
            do { return .success(try await body()) } catch { return .failure(.wrapping(error)) }
        }
        let result: Result<Data, TaskShimError>
        do { result = .success(try await Deadline.$current.withValue(deadline) { try await body() }) } catch { result = .failure(.wrapping(error)) }
        return Task.isCancelled && Date() >= deadline ? .failure(deadlineExceeded(deadline)) : result
    }

    /// Runs `body` in a child task; when `deadline` passes first, cancels it, waits for it to stop, and
    /// fails with a temporary error. Handlers stop cooperatively: a blocking C call finishes before
    /// cancellation is seen.
    static func race(deadline: Date, clock deadlines: DeadlineClock,
                     _ body: @escaping @Sendable () async throws -> Data) async -> Result<Data, TaskShimError> {
        // The body is the group's one child; this task waits on the clock, which the body ends early
        // when it finishes (one child task per run, not two).
        return await withTaskGroup(of: Result<Data, TaskShimError>.self) { group in
            let ticket = deadlines.makeTicket()
            group.addTask {
                let result: Result<Data, TaskShimError>
                do { result = .success(try await Deadline.$current.withValue(deadline) { try await body() }) } catch { result = .failure(.wrapping(error)) }
                deadlines.end(ticket)
                return result
            }
            guard await deadlines.wait(ticket, until: deadline) else { return await group.next()! }
            group.cancelAll()
            // Wait for the handler to wind down so nothing it does outlives the run.
            while await group.next() != nil {}
            return .failure(deadlineExceeded(deadline))
        }
    }

    static func deadlineExceeded(_ deadline: Date) -> TaskShimError {
        .temporary("The handler did not finish before its deadline (\(Timestamp.format(deadline))) and was cancelled.",
                   hint: "Raise the timeout or make the work smaller; the run can be retried.")
    }

    static func milliseconds(_ duration: Duration) -> Double {
        let (seconds, attoseconds) = duration.components
        return ((Double(seconds) * 1000 + Double(attoseconds) / 1e15) * 1000).rounded() / 1000
    }
}
