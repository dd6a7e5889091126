import FoundationEssentials

/// Who fires a scheduled run when several schedulers read one manifest: each (task, logical time) is
/// claimed once, by the first scheduler to ask, so replicas never double-fire.
public protocol RunClaims: Sendable {
    /// Whether this scheduler won the run of `task` for `logicalTime` (false: another one has it).
    func claim(task: String, logicalTime: Date, scheduler: String) async throws -> Bool
    /// The logical time of the last run of `task` any scheduler claimed, for catching up after a stop.
    func lastClaimed(task: String) async throws -> Date?
}

/// Claims kept in memory: one scheduler, no catch-up across restarts.
public actor InMemoryRunClaims: RunClaims {
    private var claimed: [String: Date] = [:]

    public init() {}

    public func claim(task: String, logicalTime: Date, scheduler: String) -> Bool {
        if let last = claimed[task], last >= logicalTime { return false }
        claimed[task] = logicalTime
        return true
    }

    public func lastClaimed(task: String) -> Date? { claimed[task] }
}
