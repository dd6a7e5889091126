import FoundationEssentials
import Logging
import Synchronization
import TaskShimCore

/// Delivers one network sink's events from the spool, in order, one batch at a time: the cursor moves
/// only after the receiver accepted the batch. Failures are retried with capped, jittered backoff under
/// the sink's circuit breaker; a batch the receiver refuses is split until the one bad event is found,
/// which is set aside in `rejected-<sink>.jsonl` beside the spool and logged.
final class AuditDelivery: Sendable {
    let transport: any AuditTransport
    let spool: AuditSpool
    let breaker: CircuitBreaker
    let logger: Logger
    let maxBackoff: Duration
    private let wakeup = Wakeup()
    private let isFailing = Atomic<Bool>(false)
    private let deliveredCount = Atomic<Int>(0)

    init(transport: any AuditTransport, spool: AuditSpool, breaker: CircuitBreaker, logger: Logger, maxBackoff: Duration) {
        self.transport = transport
        self.spool = spool
        self.breaker = breaker
        self.logger = logger
        self.maxBackoff = maxBackoff
    }

    var name: String { transport.name }
    var delivered: Int { deliveredCount.load(ordering: .relaxed) }

    /// New events are waiting (or the loop should look at its cancellation).
    func signal() { wakeup.signal() }

    /// Runs until cancelled.
    func run() async {
        let backoff = RetryPolicy(maxAttempts: 1, baseDelay: .milliseconds(100), maxDelay: maxBackoff)
        var limit = transport.batchLimit
        var failed = 0
        var generator = SystemRandomNumberGenerator()
        while !Task.isCancelled {
            // About 512 bytes an event: reading much more per batch would read the spool many times over.
            guard let batch = spool.read(name, maxEvents: limit, maxBytes: min(1 << 20, limit * 512)) else {
                await wakeup.wait()
                continue
            }
            do {
                try await breaker.run { try await transport.send(batch.lines) }
                spool.commit(name, batch.end)
                deliveredCount.add(batch.lines.count, ordering: .relaxed)
                if failed > 0 {
                    logger.notice("audit sink delivering again", metadata: [
                        "sink": .string(name), "failed_attempts": .stringConvertible(failed),
                        "backlog_bytes": .stringConvertible(spool.backlog(name)),
                    ])
                    failed = 0
                }
                isFailing.store(false, ordering: .relaxed)
                limit = min(transport.batchLimit, limit * 2)
            } catch {
                if Task.isCancelled { break }
                let error = TaskShimError.wrapping(error)
                if error.status == .dataError {
                    if batch.lines.count > 1 {
                        limit = max(1, batch.lines.count / 2)
                    } else {
                        setAside(batch.lines[0], error)
                        spool.commit(name, batch.end)
                    }
                    continue
                }
                failed += 1
                isFailing.store(true, ordering: .relaxed)
                // The first failure and then every tenth: a sink down for an hour writes a line a few minutes.
                if failed == 1 || failed % 10 == 0 {
                    let misconfigured = error.status == .configuration || error.status == .noPermission
                    logger.log(level: misconfigured ? .error : .warning, "audit delivery failed; events stay in the spool", metadata: [
                        "sink": .string(name), "dependency": .string(transport.dependency), "error": .string(error.description),
                        "failed_attempts": .stringConvertible(failed), "backlog_bytes": .stringConvertible(spool.backlog(name)),
                    ])
                }
                var wait = backoff.delay(after: failed, using: &generator)
                if let wished = error.retryAfter, wished > wait { wait = min(wished, maxBackoff) }
                try? await Task.sleep(for: wait)
            }
        }
    }

    /// Waits until everything spooled so far is delivered, the sink fails, or `deadline` passes. A sink
    /// already failing is not waited for: its events are safe in the spool.
    func flush(until deadline: ContinuousClock.Instant) async {
        guard !isFailing.load(ordering: .relaxed) else { return }
        signal()
        while !spool.isDrained(name), !isFailing.load(ordering: .relaxed), ContinuousClock.now < deadline {
            try? await Task.sleep(for: .milliseconds(1))
        }
    }

    private func setAside(_ event: Data, _ error: TaskShimError) {
        let path = spool.configuration.directory + "/rejected-\(name).jsonl"
        var line = Array(event)
        line.append(UInt8(ascii: "\n"))
        do {
            let file = try AppendOnlyFile(path: path)
            try file.append(line)
            file.sync()
        } catch {
            logger.error("cannot set the refused audit event aside", metadata: ["path": .string(path), "error": .string(error.description)])
        }
        logger.error("audit event refused by the sink and set aside", metadata: [
            "sink": .string(name), "event_id": .string(JSONValue.parse(event)?["id"]?.string ?? "?"),
            "error": .string(error.description), "set_aside_in": .string(path),
        ])
    }
}
