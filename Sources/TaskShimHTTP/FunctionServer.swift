import FoundationEssentials
import Logging
import NIOCore
import NIOHTTP1
import NIOPosix
import Synchronization
import TaskShimCore

/// The HTTP side of the Functions Framework contract (Cloud Run services and functions, ECS services):
/// every path runs the handler with the request body as its payload, except `/robots.txt` and
/// `/favicon.ico`, which answer 404 without calling it.
///
/// HTTP/1.1 with keep-alive on SwiftNIO. Limits: a body over ``Configuration/maxBodyBytes`` is
/// answered 413 without reading it; more than ``Configuration/maxConcurrentRequests`` at once are
/// answered 429; a connection idle for ``Configuration/idleTimeout`` is closed, so a slow client cannot
/// hold a worker; a handler past ``Configuration/requestTimeout`` is cancelled and answered 504.
/// Cancelling ``run(onListening:)`` stops accepting at once, lets requests in flight finish for up to
/// ``Configuration/drainTimeout``, then cancels what is left.
public final class FunctionServer: Sendable {
    /// The Functions Framework signature (`FUNCTION_SIGNATURE_TYPE`): what a request means.
    public enum Signature: String, Sendable {
        /// The request body is the event.
        case http
        /// The request is a CloudEvent (binary, structured or batched) or a legacy event converted to
        /// one; the handler gets it as JSON.
        case cloudEvent = "cloudevent"
        /// A Cloud Functions background event (`{"data", "context"}`); a CloudEvent is converted to one.
        case event
    }

    public struct Configuration: Sendable {
        public var signature = Signature.http
        public var host = "0.0.0.0"
        public var port = 8080
        public var maxBodyBytes = 32 << 20
        public var maxConcurrentRequests = 80
        public var requestTimeout: Duration = .seconds(300)
        public var idleTimeout: Duration = .seconds(60)
        /// From a request's head to the end of its body; past it, 408 and the connection closed.
        public var readTimeout: Duration = .seconds(60)
        /// Event-loop threads; each connection and its requests stay on one. The default is the
        /// CPUs this process may use: the cgroup quota counts (1 on a 1-vCPU Cloud Run instance), and
        /// so does its affinity mask (`taskset`, systemd's `CPUAffinity=`).
        public var threads = min(System.coreCount, Platform.allowedCPUs ?? .max)
        public var drainTimeout: Duration = .seconds(8)
        /// A path answered 200 by the server itself (503 while draining) for load-balancer and
        /// container health checks, instead of running the function; nil: every path is the function's.
        /// `OPTIONS *` is always answered so, for `runtime healthcheck`.
        public var healthPath: String?

        public init() {}
    }

    public let configuration: Configuration
    /// Header fields a request may have (a platform's front end adds a dozen or two).
    static let maxHeaderFields = 200
    let handler: any Handler
    let runner: Runner
    let logger: Logger
    let inFlight = InFlightRequests()
    let deliveries = RecentDeliveries()

    public init(handler: any Handler, runner: Runner, logger: Logger, configuration: Configuration = Configuration()) {
        self.handler = handler
        self.runner = runner
        self.logger = logger
        self.configuration = configuration
    }

    /// Serves until the calling task is cancelled, then drains and returns. `onListening` gets the bound
    /// port (useful with port 0).
    public func run(onListening: @Sendable (Int) -> Void = { _ in }) async throws {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: configuration.threads)
        let server = self
        let channel: Channel
        do {
            channel = try await ServerBootstrap(group: group)
                .serverChannelOption(.backlog, value: 256)
                .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
                .childChannelOption(.tcpOption(.tcp_nodelay), value: 1)
                .childChannelOption(.maxMessagesPerRead, value: 4)
                .childChannelInitializer { channel in
                    channel.eventLoop.makeCompletedFuture {
                        // HTTP/1.1, or HTTP/2 with prior knowledge (h2c), told apart by the first bytes.
                        try channel.pipeline.syncOperations.addHandler(ProtocolDetector(server: server))
                    }
                }
                .bind(host: configuration.host, port: configuration.port)
                .get()
        } catch {
            try? await group.shutdownGracefully()
            throw TaskShimError(.unavailable, "Cannot listen on \(configuration.host):\(configuration.port): \(error).",
                                hint: "Another process may hold the port; set PORT to a free one.")
        }
        let port = channel.localAddress?.port ?? configuration.port
        logger.info("listening", metadata: ["port": .stringConvertible(port), "handler": .string(handler.name),
                                            "threads": .stringConvertible(configuration.threads)])
        onListening(port)

        // Wait for cancellation (SIGTERM), then stop accepting and drain.
        await withTaskCancellationHandler {
            await inFlight.waitForCancellation()
        } onCancel: {
            inFlight.cancelWaiting()
        }
        try? await channel.close()
        let remaining = await inFlight.drain(within: configuration.drainTimeout)
        if remaining > 0 {
            logger.warning("cancelling requests still running after the drain budget",
                           metadata: ["requests": .stringConvertible(remaining)])
            inFlight.cancelAll()
            _ = await inFlight.drain(within: .seconds(1))
        }
        try? await group.shutdownGracefully()
        logger.info("stopped")
    }

    /// `OPTIONS *` (asterisk-form: about the server, never a function's path), or GET/HEAD of the
    /// configured health path.
    func isHealthProbe(_ head: HTTPRequestHead) -> Bool {
        if head.method == .OPTIONS && head.uri == "*" { return true }
        guard let healthPath = configuration.healthPath, head.method == .GET || head.method == .HEAD else { return false }
        return head.path == healthPath
    }
}
