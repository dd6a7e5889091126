/// What started an invocation. Handlers may log it; they never need it to do their work.
public enum Trigger: String, Sendable, Codable, CaseIterable {
    /// `runtime exec` from a shell, cron, a systemd timer or a one-shot container.
    case command
    /// The in-process scheduler (`runtime schedule`).
    case schedule
    /// An AWS Lambda invocation.
    case lambda
    /// A plain HTTP request (Functions Framework `http` signature).
    case http
    /// A CloudEvent (binary, structured or converted from a legacy event).
    case cloudEvent = "cloudevent"
    /// A Pub/Sub push delivery.
    case pubsub
    /// A Cloud Scheduler HTTP call.
    case scheduler
    /// A job taken from a queue by `runtime worker`.
    case queue
}
