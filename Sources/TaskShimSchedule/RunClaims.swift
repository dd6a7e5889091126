import FoundationEssentials

/// Who fires a scheduled run when several schedulers read one manifest: each (task, logical time) is
/// claimed once, by the first scheduler to ask, so replicas never double-fire. A `forbid` task's runs
/// also hold the task's lease while they run, so that no replica starts one while another runs.
public protocol RunClaims: Sendable {
    /// Whether this scheduler won the run of `task` for `logicalTime` (false: another one has it).
    func claim(task: String, logicalTime: Date, scheduler: String) async throws -> Bool
    /// The logical time of the last run of `task` any scheduler claimed, for catching up after a stop.
    func lastClaimed(task: String) async throws -> Date?
    /// Holds `task`'s lease for `holder` until `expiry` when it is free, expired at `now`, or already
    /// `holder`'s (so the same call renews it). False: another holder's lease is live.
    func lease(task: String, holder: String, until expiry: Date, now: Date) async throws -> Bool
    /// Gives `task`'s lease up if `holder` still has it.
    func release(task: String, holder: String) async throws
}

/// Claims kept in memory, one per task and logical time as in the SQL table: one scheduler, no
/// catch-up across restarts.
public actor InMemoryRunClaims: RunClaims {
    private var claimed: [String: Set<Date>] = [:]
    private var last: [String: Date] = [:]
    private var leases: [String: (holder: String, expiry: Date)] = [:]

    public init() {}

    public func claim(task: String, logicalTime: Date, scheduler: String) -> Bool {
        guard claimed[task, default: []].insert(logicalTime).inserted else { return false }
        let latest = max(last[task] ?? logicalTime, logicalTime)
        last[task] = latest
        // A day of claims is all a clock that steps back can meet again.
        if claimed[task]!.count > 2000 { claimed[task] = claimed[task]!.filter { latest.timeIntervalSince($0) < 86400 } }
        return true
    }

    public func lastClaimed(task: String) -> Date? { last[task] }

    public func lease(task: String, holder: String, until expiry: Date, now: Date) -> Bool {
        if let current = leases[task], current.holder != holder, current.expiry >= now { return false }
        leases[task] = (holder, expiry)
        return true
    }

    public func release(task: String, holder: String) {
        if leases[task]?.holder == holder { leases[task] = nil }
    }
}
