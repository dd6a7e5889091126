import FoundationEssentials
import TaskShimCore

/// A network sink: sends spooled events to a receiver. How a failure is thrown tells the delivery loop
/// what to do: a ``TaskShimError`` with `.dataError` means the receiver refuses these events (the batch
/// is split down to the one bad event, which is set aside), `.configuration` or `.noPermission` means
/// the sink is misconfigured (kept, retried slowly, logged as an error), anything else is retried.
protocol AuditTransport: Sendable {
    /// The sink's name: `splunk`, `webhook`; also the spool consumer's name.
    var name: String { get }
    /// The dependency its breaker and logs are named after (the receiver's host).
    var dependency: String { get }
    /// The most events one call takes.
    var batchLimit: Int { get }
    /// Sends the events (JSON objects, one per element) in order; returns once the receiver has them.
    func send(_ events: [Data]) async throws
}
