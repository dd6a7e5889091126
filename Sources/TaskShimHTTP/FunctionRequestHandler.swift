import FoundationEssentials
import NIOCore
import NIOHTTP1
import TaskShimCore

/// One connection's requests: collects each body under the size limit, hands the request to the
/// server off the event loop, and writes the answer back on it. NIO's pipelining handler in front
/// keeps one request at a time per connection.
final class FunctionRequestHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    private let server: FunctionServer
    private var head: HTTPRequestHead?
    private var body = ByteBuffer()
    private var refused = false
    private var busy = false
    private var readTimer: Scheduled<Void>?

    init(server: FunctionServer) {
        self.server = server
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let requestHead):
            head = requestHead
            body.clear()
            refused = false
            // The body must arrive within the read timeout: a client trickling it in cannot keep a
            // request open for ever (the idle timeout alone restarts with every byte).
            let bound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
            readTimer = context.eventLoop.scheduleTask(in: .seconds(server.configuration.readTimeout.components.seconds)) {
                let (handler, context) = bound.value
                handler.refuse(.requestTimeout, "Request Timeout: the request did not arrive within \(handler.server.configuration.readTimeout)\n",
                               context: context)
            }
            // Header bytes are bounded by the parser (80 KiB: 400); the number of fields here.
            if requestHead.headers.count > FunctionServer.maxHeaderFields {
                refuse(.requestHeaderFieldsTooLarge, "Request Header Fields Too Large: at most \(FunctionServer.maxHeaderFields) fields\n", context: context)
            } else if let length = requestHead.headers.first(name: "Content-Length").flatMap(Int.init), length > server.configuration.maxBodyBytes {
                refuseTooLarge(context: context)
            }
        case .body(var part):
            guard !refused else { return }
            if body.readableBytes + part.readableBytes > server.configuration.maxBodyBytes {
                refuseTooLarge(context: context)
                return
            }
            body.writeBuffer(&part)
        case .end:
            readTimer?.cancel()
            readTimer = nil
            guard !refused, let requestHead = head else { return }
            head = nil
            // Health probes are answered here, on the event loop: never the function, never refused
            // for saturation (a busy instance is not a dead one), 503 once draining.
            if server.isHealthProbe(requestHead) {
                let draining = server.inFlight.isDraining
                write(requestHead, draining ? .serviceUnavailable : .ok, HTTPHeaders([("Content-Type", "text/plain; charset=utf-8")]),
                      Data((draining ? "draining\n" : "ok\n").utf8), context: context)
                return
            }
            let ticket: Int
            switch server.inFlight.admit(limit: server.configuration.maxConcurrentRequests) {
            case .admitted(let id):
                ticket = id
            case .saturated:
                write(requestHead, .tooManyRequests, HTTPHeaders([("Content-Type", "text/plain; charset=utf-8"), ("Retry-After", "1")]),
                      Data("Too Many Requests\n".utf8), context: context)
                return
            case .draining:
                // Between SIGTERM and the listener closing: the platform routes the retry elsewhere.
                write(requestHead, .serviceUnavailable, HTTPHeaders([("Content-Type", "text/plain; charset=utf-8")]),
                      Data("Shutting down\n".utf8), context: context, close: true)
                return
            }
            busy = true
            let payload = Data(body.readableBytesView)
            let server = server
            let bound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
            let eventLoop = context.eventLoop
            let remoteAddress = context.remoteAddress?.ipAddress
            let task = Task {
                let (status, headers, data) = await server.respond(to: requestHead, body: payload, remoteAddress: remoteAddress)
                eventLoop.execute {
                    let (handler, context) = bound.value
                    handler.busy = false
                    handler.write(requestHead, status, headers, data, context: context)
                }
                server.inFlight.finish(ticket)
            }
            server.inFlight.attach(ticket, task)
        }
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        // A connection that sends nothing for the idle timeout is closed, unless its request is running.
        if event is IdleStateHandler.IdleStateEvent {
            if !busy { context.close(promise: nil) }
            return
        }
        context.fireUserInboundEventTriggered(event)
    }

    private func refuseTooLarge(context: ChannelHandlerContext) {
        refuse(.payloadTooLarge, "Payload Too Large: at most \(server.configuration.maxBodyBytes) bytes\n", context: context)
    }

    /// Answers the request being read with `status` without running it, and closes the connection
    /// (the rest of its body is not read).
    private func refuse(_ status: HTTPResponseStatus, _ message: String, context: ChannelHandlerContext) {
        readTimer?.cancel()
        readTimer = nil
        guard !refused, let requestHead = head else { return }
        refused = true
        body.clear()
        write(requestHead, status, HTTPHeaders([("Content-Type", "text/plain; charset=utf-8")]), Data(message.utf8),
              context: context, close: true)
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        readTimer?.cancel()
    }

    private func write(_ request: HTTPRequestHead, _ status: HTTPResponseStatus, _ headers: HTTPHeaders, _ data: Data,
                       context: ChannelHandlerContext, close: Bool = false) {
        var headers = headers
        headers.replaceOrAdd(name: "Content-Length", value: String(data.count))
        let keepAlive = request.isKeepAlive && !close
        if !keepAlive { headers.replaceOrAdd(name: "Connection", value: "close") }
        context.write(wrapOutboundOut(.head(HTTPResponseHead(version: request.version, status: status, headers: headers))), promise: nil)
        var buffer = context.channel.allocator.buffer(capacity: data.count)
        buffer.writeBytes(data)
        context.write(wrapOutboundOut(.body(.byteBuffer(buffer))), promise: nil)
        let done = context.writeAndFlush(wrapOutboundOut(.end(nil)))
        if !keepAlive {
            let channel = context.channel
            done.whenComplete { _ in channel.close(promise: nil) }
        }
    }
}
