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
        /// The request is a CloudEvent (binary, structured or batched); the handler gets it as JSON.
        case cloudEvent = "cloudevent"
    }

    public struct Configuration: Sendable {
        public var signature = Signature.http
        public var host = "0.0.0.0"
        public var port = 8080
        public var maxBodyBytes = 32 << 20
        public var maxConcurrentRequests = 80
        public var requestTimeout: Duration = .seconds(300)
        public var idleTimeout: Duration = .seconds(60)
        public var drainTimeout: Duration = .seconds(8)

        public init() {}
    }

    public let configuration: Configuration
    let handler: any Handler
    let runner: Runner
    let logger: Logger
    let inFlight = InFlightRequests()

    public init(handler: any Handler, runner: Runner, logger: Logger, configuration: Configuration = Configuration()) {
        self.handler = handler
        self.runner = runner
        self.logger = logger
        self.configuration = configuration
    }

    /// Serves until the calling task is cancelled, then drains and returns. `onListening` gets the bound
    /// port (useful with port 0).
    public func run(onListening: @Sendable (Int) -> Void = { _ in }) async throws {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let server = self
        let channel: Channel
        do {
            channel = try await ServerBootstrap(group: group)
                .serverChannelOption(.backlog, value: 256)
                .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
                .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
                .childChannelOption(.maxMessagesPerRead, value: 4)
                .childChannelInitializer { channel in
                    channel.eventLoop.makeCompletedFuture {
                        try channel.pipeline.syncOperations.configureHTTPServerPipeline(withErrorHandling: true)
                        try channel.pipeline.syncOperations.addHandlers([
                            IdleStateHandler(readTimeout: .seconds(server.configuration.idleTimeout.components.seconds)),
                            FunctionRequestHandler(server: server),
                        ])
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
        logger.info("listening", metadata: ["port": .stringConvertible(port), "handler": .string(handler.name)])
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

    /// Runs the handler for one request and returns status, headers and body.
    func respond(to head: HTTPRequestHead, body: Data) async -> (HTTPResponseStatus, HTTPHeaders, Data) {
        let path = head.uri.split(separator: "?", maxSplits: 1).first.map(String.init) ?? head.uri
        if path == "/robots.txt" || path == "/favicon.ico" {
            return (.notFound, HTTPHeaders([("Content-Type", "text/plain; charset=utf-8")]), Data("Not Found\n".utf8))
        }
        let deadline = Date().addingTimeInterval(Double(configuration.requestTimeout.components.seconds))
        var invocation = Invocation(payload: body, trigger: .http, deadline: deadline)
        if let id = head.headers.first(name: "Function-Execution-Id"), !id.isEmpty { invocation.requestID = id }
        if let trace = TraceContext(traceparent: head.headers.first(name: "traceparent"),
                                    cloudTraceContext: head.headers.first(name: "X-Cloud-Trace-Context")) {
            invocation.traceID = trace.traceID
            invocation.spanID = trace.spanID
        }
        invocation.attributes["http_method"] = head.method.rawValue
        invocation.attributes["http_path"] = path
        switch configuration.signature {
        case .http:
            let outcome = await runner.run(handler, invocation)
            guard let error = outcome.error else {
                return (.ok, HTTPHeaders([("Content-Type", Self.contentType(of: outcome.output))]), outcome.output)
            }
            return failure(error, deadline: deadline)
        case .cloudEvent:
            let events: [CloudEvent]
            do {
                guard let decoded = try CloudEvent.decode(headers: head.headers.map { ($0.name, $0.value) }, body: body) else {
                    return Self.badRequest("The request is not a CloudEvent: it has no ce-specversion header and is not application/cloudevents+json.")
                }
                events = decoded
            } catch {
                return Self.badRequest("Malformed CloudEvent: \(error.description).")
            }
            for event in events {
                var one = invocation
                one.trigger = .cloudEvent
                one.payload = Data(event.json.utf8)
                one.idempotencyKey = event.id
                if let time = event.time.flatMap(Timestamp.parse) { one.logicalTime = time }
                one.attributes["ce_id"] = event.id
                one.attributes["ce_type"] = event.type
                one.attributes["ce_source"] = event.source
                if let error = await runner.run(handler, one).error { return failure(error, deadline: deadline) }
            }
            return (.ok, HTTPHeaders([("Content-Type", "text/plain; charset=utf-8")]), Data("OK\n".utf8))
        }
    }

    /// 504 past the deadline, else 500 with `X-Google-Status: error` for an error the handler reported
    /// and `crash` for one it did not expect (a bug: exit status 70). The details are in the
    /// run-summary line, not in the answer.
    private func failure(_ error: TaskShimError, deadline: Date) -> (HTTPResponseStatus, HTTPHeaders, Data) {
        if Date() >= deadline {
            return (.gatewayTimeout, HTTPHeaders([("Content-Type", "text/plain; charset=utf-8"), ("X-Google-Status", "error")]),
                    Data("Deadline exceeded\n".utf8))
        }
        let kind = error.status == .software ? "crash" : "error"
        return (.internalServerError, HTTPHeaders([("Content-Type", "text/plain; charset=utf-8"), ("X-Google-Status", kind)]),
                Data("Internal Server Error\n".utf8))
    }

    static func badRequest(_ message: String) -> (HTTPResponseStatus, HTTPHeaders, Data) {
        (.badRequest, HTTPHeaders([("Content-Type", "text/plain; charset=utf-8")]), Data((message + "\n").utf8))
    }

    static func contentType(of body: Data) -> String {
        let first = body.first { $0 != 0x20 && $0 != 0x0A && $0 != 0x0D && $0 != 0x09 }
        return first == UInt8(ascii: "{") || first == UInt8(ascii: "[") ? "application/json" : "text/plain; charset=utf-8"
    }
}
