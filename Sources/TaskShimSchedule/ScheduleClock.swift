import FoundationEssentials

/// The scheduler's clock: the wall time, and a sleep until a wall time. Tests give one they move.
public protocol ScheduleClock: Sendable {
    func now() -> Date
    /// Returns at `date` or later; throws `CancellationError` when the task is cancelled.
    func sleep(until date: Date) async throws
}

/// The system's wall clock, sleeping in one timer until the next run (no polling). The wait is cut
/// into hours at most, so a wall clock set forward (NTP, a suspended VM) is noticed within the hour.
public struct SystemScheduleClock: ScheduleClock {
    public init() {}

    public func now() -> Date { Date() }

    public func sleep(until date: Date) async throws {
        while true {
            let left = date.timeIntervalSinceNow
            guard left > 0 else { return }
            try await Task.sleep(for: .milliseconds(Int64(min(left, 3600) * 1000) + 1))
        }
    }
}
