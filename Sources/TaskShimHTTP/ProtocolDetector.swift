import NIOCore
import NIOHTTP1
import NIOHTTP2

/// The first handler of every connection: reads until it can tell HTTP/2 with prior knowledge (h2c,
/// what Cloud Run sends when "HTTP/2 end-to-end" is on) from HTTP/1.x by the client's first bytes,
/// puts the matching handlers behind itself, hands them what it read, and leaves the pipeline.
final class ProtocolDetector: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer

    /// RFC 9113 3.4: every HTTP/2 connection starts with these 24 bytes.
    static let preface = Array("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".utf8)

    private let server: FunctionServer
    private var buffered: ByteBuffer?
    private var idleTimer: Scheduled<Void>?

    init(server: FunctionServer) {
        self.server = server
    }

    /// A client that connects and sends nothing is closed after the idle timeout, as any other.
    func handlerAdded(context: ChannelHandlerContext) {
        let channel = context.channel
        idleTimer = context.eventLoop.scheduleTask(in: TimeAmount(server.configuration.idleTimeout)) {
            channel.close(promise: nil)
        }
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        idleTimer?.cancel()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var incoming = unwrapInboundIn(data)
        if buffered == nil {
            buffered = incoming
        } else {
            buffered!.writeBuffer(&incoming)
        }
        let bytes = buffered!.readableBytesView
        let compared = min(bytes.count, Self.preface.count)
        let matches = bytes.prefix(compared).elementsEqual(Self.preface.prefix(compared))
        guard !matches || compared == Self.preface.count else { return }  // not enough yet
        do {
            try configure(http2: matches, context: context)
        } catch {
            context.close(promise: nil)
            return
        }
        let first = buffered!
        buffered = nil
        context.fireChannelRead(wrapInboundOut(first))
        context.pipeline.syncOperations.removeHandler(context: context, promise: nil)
    }

    private func configure(http2: Bool, context: ChannelHandlerContext) throws {
        let server = server
        let pipeline = context.pipeline.syncOperations
        if http2 {
            // The detector is the pipeline's only handler: last is right behind it.
            _ = try pipeline.configureHTTP2Pipeline(mode: .server, connectionConfiguration: .init(), streamConfiguration: .init(),
                                                    position: .last) { stream in
                stream.eventLoop.makeCompletedFuture {
                    try stream.pipeline.syncOperations.addHandlers([
                        HTTP2FramePayloadToHTTP1ServerCodec(),
                        FunctionRequestHandler(server: server, executor: EventLoopTaskExecutor(stream.eventLoop), framing: .parts),
                    ])
                }
            }
        } else {
            try pipeline.addHandlers([
                ByteToMessageHandler(HTTPRequestDecoder(leftOverBytesStrategy: .dropBytes)),
                FunctionRequestHandler(server: server, executor: EventLoopTaskExecutor(context.eventLoop), framing: .bytes),
            ], position: .after(self))
        }
    }
}
