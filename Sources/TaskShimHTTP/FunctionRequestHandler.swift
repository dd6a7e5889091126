import FoundationEssentials
import NIOCore
import NIOHTTP1
import TaskShimCore

/// One connection's requests: collects each body under the size limit, runs the request (on the
/// connection's event loop), writes the answer, one request at a time. It also times the
/// connection: idle past the idle timeout (and not running a request), it is closed; a request whose
/// body has not arrived within the read timeout is answered 408; a request running past the request
/// timeout has its task cancelled (the runner then answers 504). One timer per connection, re-armed
/// only when it fires, so a request costs no timer operations.
final class FunctionRequestHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart
    /// Responses are written as bytes, head and body in one buffer: one pass down the pipeline and
    /// one write per response instead of three encoder passes. Every header is one of ours.
    typealias OutboundOut = ByteBuffer

    private let server: FunctionServer
    private var head: HTTPRequestHead?
    private var body = ByteBuffer()
    private var refused = false
    private var busy = false
    /// When the request being run must have finished: its worker's task is cancelled then.
    private var runDeadline: NIODeadline?
    /// When the connection last received bytes, and when the request being read began.
    private var lastActivity = NIODeadline.now()
    private var requestStarted: NIODeadline?
    private var watchdog: Scheduled<Void>?
    private var watchdogDeadline: NIODeadline?

    private let executor: EventLoopTaskExecutor

    /// How answers go out: HTTP/1.x bytes on a connection, or response parts on an HTTP/2 stream
    /// (NIO's codec turns them into frames).
    enum Framing {
        case bytes
        case parts
    }

    private let framing: Framing

    init(server: FunctionServer, executor: EventLoopTaskExecutor, framing: Framing) {
        self.server = server
        self.executor = executor
        self.framing = framing
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

    /// Once per read from the socket, however many request parts it held: the idle timeout restarts.
    func channelReadComplete(context: ChannelHandlerContext) {
        lastActivity = .now()
        context.fireChannelReadComplete()
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
            let now = NIODeadline.now()
            requestStarted = now
            // The timer fires at the latest then (with the default timeouts it is already due sooner).
            let limit = now + TimeAmount(server.configuration.readTimeout)
            if watchdogDeadline.map({ $0 > limit }) ?? true {
                watchdog?.cancel()
                arm(at: limit, context: context)
            }
            // Header bytes are bounded by the parser (80 KiB: 400); the number of fields here.
            if requestHead.headers.count > FunctionServer.maxHeaderFields {
                refuse(.requestHeaderFieldsTooLarge, "Request Header Fields Too Large: at most \(FunctionServer.maxHeaderFields) fields", context: context)
            } else if let length = requestHead.headers.first(name: "Content-Length").flatMap(Int.init), length > server.configuration.maxBodyBytes {
                refuseTooLarge(context: context)
            } else if framing == .bytes, requestHead.version.minor >= 1, requestHead.headers.first(name: "Expect")?.lowercased() == "100-continue" {
                // curl and others wait for this before sending a large body.
                var buffer = context.channel.allocator.buffer(capacity: 32)
                buffer.writeStaticString("HTTP/1.1 100 Continue\r\n\r\n")
                context.writeAndFlush(wrapOutboundOut(buffer), promise: nil)
            }
        case .body(var part):
            guard !refused else { return }
            if body.readableBytes + part.readableBytes > server.configuration.maxBodyBytes {
                refuseTooLarge(context: context)
                return
            }
            body.writeBuffer(&part)
        case .end:
            requestStarted = nil
            guard !refused, let requestHead = head else { return }
            head = nil
            // Health probes are answered here, on the event loop: never the function, never refused
            // for saturation (a busy instance is not a dead one), 503 once draining.
            if server.isHealthProbe(requestHead) {
                let draining = server.inFlight.isDraining
                write(requestHead, .plain(draining ? .serviceUnavailable : .ok, draining ? "draining" : "ok"), context: context)
                return
            }
            let ticket: Int
            switch server.inFlight.admit(limit: server.configuration.maxConcurrentRequests) {
            case .admitted(let id):
                ticket = id
            case .saturated:
                write(requestHead, .plain(.tooManyRequests, "Too Many Requests", headers: [("Retry-After", "1")]), context: context)
                return
            case .draining:
                // Between SIGTERM and the listener closing: the platform routes the retry elsewhere.
                write(requestHead, .plain(.serviceUnavailable, "Shutting down"), context: context, close: true)
                return
            }
            busy = true
            // The wall-clock deadline first, so the timer (monotonic) never fires before it has passed.
            let deadline = Date().addingTimeInterval(server.configuration.requestTimeout.seconds)
            let runDeadline = NIODeadline.now() + TimeAmount(server.configuration.requestTimeout)
            let request = RequestWorker.Request(head: requestHead, body: body.withUnsafeReadableBytes { Data($0) },
                                                remoteAddress: peer, deadline: deadline, ticket: ticket)
            let worker = self.worker ?? startWorker(context: context)
            worker.hand(request)
            server.inFlight.attach(ticket, worker.task)
            self.runDeadline = runDeadline
            if watchdogDeadline.map({ $0 > runDeadline }) ?? true {
                watchdog?.cancel()
                arm(at: runDeadline, context: context)
            }
        }
    }

    /// The task that runs this connection's requests; nil before the first and after one is cancelled.
    private var worker: RequestWorker?

    private func startWorker(context: ChannelHandlerContext) -> RequestWorker {
        let server = server
        let bound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
        let eventLoop = context.eventLoop
        let worker = RequestWorker(eventLoop: eventLoop, executor: executor) { request in
            let answer = await server.respond(to: request.head, body: request.body, remoteAddress: request.remoteAddress,
                                              deadline: request.deadline)
            let goesOn = !Task.isCancelled
            // The task runs on the loop (its executor): a closure to hop there is made only when not.
            if eventLoop.inEventLoop {
                let (handler, context) = bound.value
                handler.answer(request.head, answer, context: context, workerEnds: !goesOn)
            } else {
                eventLoop.execute {
                    let (handler, context) = bound.value
                    handler.answer(request.head, answer, context: context, workerEnds: !goesOn)
                }
            }
            server.inFlight.finish(request.ticket)
            return goesOn
        }
        self.worker = worker
        return worker
    }

    /// Writes the answer of the request that was running, then takes up any that waited behind it
    /// (with a new worker when this one's task was cancelled).
    private func answer(_ request: HTTPRequestHead, _ answer: Answer, context: ChannelHandlerContext, workerEnds: Bool) {
        if workerEnds { worker = nil }
        busy = false
        runDeadline = nil
        write(request, answer, context: context)
        processBacklog(context: context)
    }

    /// The client's address, read once: `context.remoteAddress` asks the kernel on every call.
    private var peer: String?

    func handlerAdded(context: ChannelHandlerContext) {
        peer = context.channel.remoteAddress?.ipAddress
        arm(at: lastActivity + TimeAmount(server.configuration.idleTimeout), context: context)
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        worker?.close()
        worker = nil
        watchdog?.cancel()
        watchdog = nil
        watchdogDeadline = nil
    }

    private func arm(at deadline: NIODeadline, context: ChannelHandlerContext) {
        let bound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
        watchdogDeadline = deadline
        watchdog = context.eventLoop.scheduleTask(deadline: deadline) {
            let (handler, context) = bound.value
            handler.check(context: context)
        }
    }

    /// The connection's timer: 408 for a request read too slowly, cancel a request run too long,
    /// close when idle, else re-arm for the next moment one of them could happen.
    private func check(context: ChannelHandlerContext) {
        watchdogDeadline = nil
        let now = NIODeadline.now()
        let idle = TimeAmount(server.configuration.idleTimeout)
        if let started = requestStarted {
            let limit = started + TimeAmount(server.configuration.readTimeout)
            if now >= limit {
                refuse(.requestTimeout, "Request Timeout: the request did not arrive within \(server.configuration.readTimeout)", context: context)
                return
            }
            arm(at: limit, context: context)
        } else if busy {
            if let runDeadline, now >= runDeadline {
                // The handler stops cooperatively; its task then answers 504.
                worker?.task.cancel()
                self.runDeadline = nil
            }
            arm(at: min(now + idle, runDeadline ?? now + idle), context: context)
        } else if now >= lastActivity + idle {
            context.close(promise: nil)
        } else {
            arm(at: lastActivity + idle, context: context)
        }
    }

    private func refuseTooLarge(context: ChannelHandlerContext) {
        refuse(.payloadTooLarge, "Payload Too Large: at most \(server.configuration.maxBodyBytes) bytes", context: context)
    }

    /// Answers the request being read with `status` without running it, and closes the connection
    /// (the rest of its body is not read).
    private func refuse(_ status: HTTPResponseStatus, _ message: String, context: ChannelHandlerContext) {
        requestStarted = nil
        guard !refused, let requestHead = head else { return }
        refused = true
        body.clear()
        write(requestHead, .plain(status, message), context: context, close: true)
    }

    private func write(_ request: HTTPRequestHead, _ answer: Answer, context: ChannelHandlerContext, close: Bool = false) {
        if framing == .parts {
            // One stream per request: ending the response ends the stream; the connection stays.
            var headers = HTTPHeaders()
            headers.add(name: "Content-Type", value: answer.contentType.description)
            for (name, value) in answer.headers { headers.add(name: name.description, value: value) }
            headers.add(name: "Content-Length", value: String(answer.body.count))
            context.write(NIOAny(HTTPServerResponsePart.head(HTTPResponseHead(version: request.version, status: answer.status, headers: headers))),
                          promise: nil)
            if request.method != .HEAD {
                var buffer = context.channel.allocator.buffer(capacity: answer.body.count)
                buffer.writeBytes(answer.body)
                context.write(NIOAny(HTTPServerResponsePart.body(.byteBuffer(buffer))), promise: nil)
            }
            context.writeAndFlush(NIOAny(HTTPServerResponsePart.end(nil)), promise: nil)
            return
        }
        let keepAlive = request.isKeepAlive && !close
        // The previous response's storage, reused once the channel has written it and let go (else
        // clear allocates a fresh one): no allocation per response.
        outbound.clear(minimumCapacity: 160 + answer.body.count)
        answer.encode(for: request, keepAlive: keepAlive, into: &outbound)
        if keepAlive {
            // No promise: a future per response costs two allocations nobody waits on.
            context.writeAndFlush(wrapOutboundOut(outbound), promise: nil)
        } else {
            let channel = context.channel
            context.writeAndFlush(wrapOutboundOut(outbound)).whenComplete { _ in channel.close(promise: nil) }
        }
        // A large answer's storage is not kept for the life of the connection.
        if outbound.capacity > Self.keptOutboundCapacity { outbound = context.channel.allocator.buffer(capacity: 0) }
    }

    private var outbound = ByteBuffer()
    static let keptOutboundCapacity = 16 * 1024

    /// A request the parser rejects (malformed, or a header block over its 80 KiB limit): 400 unless
    /// an answer is already under way, then the decoder closes the connection.
    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        if error is HTTPParserError, !busy {
            var buffer = context.channel.allocator.buffer(capacity: 80)
            buffer.writeStaticString("HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
            context.writeAndFlush(wrapOutboundOut(buffer), promise: nil)
        }
        context.close(promise: nil)
    }
}
