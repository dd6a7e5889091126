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

    private let executor: EventLoopTaskExecutor

    init(server: FunctionServer, executor: EventLoopTaskExecutor) {
        self.server = server
        self.executor = executor
    }

    /// Parts of pipelined requests that arrived while one is running, in order. Kept here rather than
    /// with NIO's pipelining handler, which stops and restarts reading around every request: two
    /// epoll_ctl calls per request for the rare client that pipelines.
    private var backlog: [HTTPServerRequestPart] = []
    /// Past this many waiting parts the client is not pipelining, it is flooding: the connection closes.
    static let maxBacklogParts = 256

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let part = unwrapInboundIn(data)
        if busy || !backlog.isEmpty {
            guard backlog.count < Self.maxBacklogParts else {
                context.close(promise: nil)
                return
            }
            backlog.append(part)
            return
        }
        process(part, context: context)
    }

    /// Takes up the pipelined requests that waited for the one just answered.
    private func processBacklog(context: ChannelHandlerContext) {
        while !busy, !backlog.isEmpty, context.channel.isActive {
            process(backlog.removeFirst(), context: context)
        }
    }

    private func process(_ part: HTTPServerRequestPart, context: ChannelHandlerContext) {
        switch part {
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
            let remoteAddress = peer
            let task = Task(executorPreference: executor) {
                let (status, headers, data) = await server.respond(to: requestHead, body: payload, remoteAddress: remoteAddress)
                let answer = {
                    let (handler, context) = bound.value
                    handler.busy = false
                    handler.write(requestHead, status, headers, data, context: context)
                    handler.processBacklog(context: context)
                }
                if eventLoop.inEventLoop { answer() } else { eventLoop.execute(answer) }
                server.inFlight.finish(ticket)
            }
            server.inFlight.attach(ticket, task)
        }
    }

    /// The client's address, read once: `context.remoteAddress` asks the kernel on every call.
    private var peer: String?

    func handlerAdded(context: ChannelHandlerContext) {
        peer = context.channel.remoteAddress?.ipAddress
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
