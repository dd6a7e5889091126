import FoundationEssentials

/// The deadline of the run the current task works for, carried as a task-local value: the runner sets
/// it from the trigger (Lambda's deadline, the HTTP request timeout, `--timeout`) around the handler,
/// and every client call made inside reads it, so no call outlives the run: HTTP requests and
/// PostgreSQL connection attempts are cut to the time left, retries stop before it.
public enum Deadline {
    @TaskLocal public static var current: Date?

    /// Time left before the current deadline; nil when there is none.
    public static func remaining(now: Date = Date()) -> Duration? {
        current.map { .milliseconds(Int64(($0.timeIntervalSince(now) * 1000).rounded(.down))) }
    }

    /// `timeout`, shortened to the time left before the current deadline. Throws a temporary error
    /// naming `what` when the deadline has passed, so the call is not started at all.
    public static func bound(_ timeout: Duration, for what: String) throws(TaskShimError) -> Duration {
        guard let left = remaining() else { return timeout }
        guard left > .zero else {
            throw .temporary("The run's deadline passed before \(what) could start.",
                             hint: "Raise the timeout or make the work smaller; the run can be retried.")
        }
        return timeout == .zero ? left : min(timeout, left)
    }
}
