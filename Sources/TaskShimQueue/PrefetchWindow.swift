/// How many jobs a worker claims ahead of its free slots. Fixed when the user says (`--prefetch`);
/// otherwise sized to the jobs' pace: enough to keep every slot busy for two claim round trips, so
/// short jobs never wait for a claim, at least the concurrency and at most 1,000. Long jobs keep it
/// at the concurrency, leaving the rest of the queue to other workers.
struct PrefetchWindow: Sendable {
    let concurrency: Int
    let fixed: Int?
    /// Moving averages, in seconds.
    private var roundTrip: Double?
    private var job: Double?

    init(concurrency: Int, fixed: Int?) {
        self.concurrency = concurrency
        self.fixed = fixed
    }

    var size: Int {
        if let fixed { return fixed }
        guard let roundTrip, let job else { return concurrency }
        let covered = Double(concurrency) * 2 * roundTrip / max(job, 1e-6)
        return Int(min(1000, max(Double(concurrency), covered.rounded(.up))))
    }

    /// A claim's round trip. One far slower than usual (a reconnect after an outage) counts as three
    /// times the average at most: an outlier must not make the worker hoard hundreds of jobs a kill
    /// would then send back to the queue.
    mutating func claimTook(_ duration: Duration) {
        let sample = roundTrip.map { min(duration.seconds, 3 * $0) } ?? duration.seconds
        roundTrip = Self.average(roundTrip, sample)
    }

    /// The mean job duration since the last claim.
    mutating func jobsTook(_ mean: Double) { job = Self.average(job, mean) }

    private static func average(_ old: Double?, _ new: Double) -> Double {
        old.map { 0.8 * $0 + 0.2 * new } ?? new
    }
}
