import NIOCore
import TaskShimCore

extension TimeAmount {
    /// NIO's amount for a standard-library duration.
    init(_ duration: Duration) {
        self = .nanoseconds(duration.nanoseconds)
    }
}
