import FoundationEssentials
import Synchronization
import TaskShimCore
#if canImport(Glibc)
import Glibc
#endif

/// HTTP/1.1 over one kept-alive TCP connection, without TLS: for a peer on the same host, such as the
/// Lambda Runtime API. It needs no libcurl, whose loading (with some thirty libraries it depends on)
/// would add 5 ms to every Lambda cold start, and it writes and reads each message with as few system
/// calls as the protocol allows. Requests run one at a time on the connection's own thread.
///
/// Responses may use `Content-Length`, chunked encoding or end with the connection; a connection the
/// server closed while idle is reopened and the request sent again once.
public final class LocalHTTPConnection: Sendable {
    public let host: String
    public let port: Int
    public let maxResponseBytes: Int
    static let maxHeaderBytes = 64 << 10
    private let queue = BlockingQueue(label: "taskshim.local-http")
    private let state = Mutex(SocketState())

    /// The socket and whether the waiting task gave up; shared with the cancellation handler, which
    /// shuts the socket down to end a blocked read.
    private struct SocketState {
        var socket: Int32 = -1
        var cancelled = false
    }

    // Touched only on `queue`: bytes received and not yet consumed, and what `recv` reads into.
    nonisolated(unsafe) private var pending: [UInt8] = []
    nonisolated(unsafe) private var readBuffer = [UInt8](repeating: 0, count: 64 << 10)

    /// `host` is a name or address and `port` the TCP port, as in `AWS_LAMBDA_RUNTIME_API=127.0.0.1:9001`.
    public init(host: String, port: Int, maxResponseBytes: Int = 8 << 20) {
        self.host = host
        self.port = port
        self.maxResponseBytes = maxResponseBytes
    }

    deinit {
        let socket = state.withLock { $0.socket }
        if socket >= 0 { close(socket) }
    }

    /// The connection's thread as a task executor. A task that prefers it sends its requests inline,
    /// without the two thread hops a request otherwise costs.
    public var executor: any TaskExecutor { queue }

    var display: String { "\(host):\(port)" }

    /// Sends a request with a complete body and returns the response, whatever its status. Throws a
    /// temporary error when the peer cannot be reached or drops the connection, a protocol error when
    /// it answers something that is not HTTP/1.1 or more than `maxResponseBytes`. Cancelling the
    /// calling task shuts the connection down at once.
    public func send(method: String, path: String, headers: [(String, String)] = [], body: Data = Data()) async throws -> HTTPResponse {
        try await cancellable(streaming: nil) { [self] in
            try perform(method: method, path: path, headers: headers, body: .complete(body))
        }
    }

    /// Sends a request whose body is produced while it is sent, with chunked transfer encoding and the
    /// trailers handed to ``StreamingBody/finish(trailers:)``.
    public func send(method: String, path: String, headers: [(String, String)] = [], streaming body: StreamingBody) async throws -> HTTPResponse {
        try await cancellable(streaming: body) { [self] in
            try perform(method: method, path: path, headers: headers, body: .streaming(body))
        }
    }

    private enum Body {
        case complete(Data)
        case streaming(StreamingBody)
    }

    private func cancellable(streaming: StreamingBody?, _ body: @escaping @Sendable () throws -> HTTPResponse) async throws -> HTTPResponse {
        try await withTaskCancellationHandler {
            try await queue.run(body)
        } onCancel: {
            state.withLock { state in
                state.cancelled = true
                if state.socket >= 0 { shutdown(state.socket, Int32(SHUT_RDWR)) }
            }
            streaming?.finish(trailers: [])  // unblocks a wait for the next part
        }
    }

    private func perform(method: String, path: String, headers: [(String, String)], body: Body) throws -> HTTPResponse {
        if state.withLock({ $0.cancelled }) { throw cancelledError() }
        let head = requestHead(method: method, path: path, headers: headers, body: body)
        let isHead = method.uppercased() == "HEAD"
        func exchange() throws -> HTTPResponse {
            switch body {
            case .complete(let data):
                try write(head, more: data)
            case .streaming(let parts):
                try write(head, more: Data())
                try writeChunks(parts)
            }
            return try readResponse(isHead: isHead)
        }
        do {
            if currentSocket() >= 0 {
                do {
                    return try exchange()
                } catch ConnectionError.closedBeforeResponse {
                    // The server closed the kept-alive connection while it was idle and never saw the
                    // request: send it again on a new one. Not a streamed body, whose parts are spent.
                    disconnect()
                    if case .streaming = body { throw ConnectionError.closedBeforeResponse }
                }
            }
            try connect()
            return try exchange()
        } catch let error as ConnectionError {
            disconnect()
            throw error.taskShimError(peer: display, cancelled: state.withLock { $0.cancelled }, limit: maxResponseBytes)
        } catch {
            disconnect()
            throw error
        }
    }

    private func requestHead(method: String, path: String, headers: [(String, String)], body: Body) -> [UInt8] {
        var text = "\(method) \(path) HTTP/1.1\r\nHost: \(display)\r\n"
        let names = Set(headers.map { $0.0.lowercased() })
        if !names.contains("user-agent") { text += "User-Agent: taskshim\r\n" }
        for (name, value) in headers { text += "\(name): \(value)\r\n" }
        switch body {
        case .complete(let data):
            if !names.contains("content-length") && (data.count > 0 || !["GET", "HEAD"].contains(method.uppercased())) {
                text += "Content-Length: \(data.count)\r\n"
            }
        case .streaming:
            if !names.contains("transfer-encoding") { text += "Transfer-Encoding: chunked\r\n" }
        }
        text += "\r\n"
        return Array(text.utf8)
    }

    // MARK: Socket

    private func currentSocket() -> Int32 { state.withLock { $0.socket } }

    private func connect() throws {
        var hints = addrinfo()
        hints.ai_family = AF_UNSPEC
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        var list: UnsafeMutablePointer<addrinfo>?
        let status = getaddrinfo(host, String(port), &hints, &list)
        guard status == 0, let list else {
            throw TaskShimError.configuration("Cannot resolve \(host): \(String(cString: gai_strerror(status))).")
        }
        defer { freeaddrinfo(list) }
        var lastError: Int32 = ECONNREFUSED
        var entry: UnsafeMutablePointer<addrinfo>? = list
        while let current = entry {
            entry = current.pointee.ai_next
            let socket = Glibc.socket(current.pointee.ai_family, current.pointee.ai_socktype | Int32(SOCK_CLOEXEC.rawValue), 0)
            guard socket >= 0 else { lastError = errno; continue }
            var one: Int32 = 1
            setsockopt(socket, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
            if Glibc.connect(socket, current.pointee.ai_addr, current.pointee.ai_addrlen) == 0 {
                let cancelled = state.withLock { state in
                    if !state.cancelled { state.socket = socket }
                    return state.cancelled
                }
                if cancelled {
                    close(socket)
                    throw cancelledError()
                }
                pending.removeAll(keepingCapacity: true)
                return
            }
            lastError = errno
            close(socket)
        }
        throw TaskShimError.temporary("Cannot connect to \(display): \(String(cString: strerror(lastError))).",
                                      hint: "Check that the server is listening there.")
    }

    private func disconnect() {
        let socket = state.withLock { state in
            defer { state.socket = -1 }
            return state.socket
        }
        if socket >= 0 { close(socket) }
        pending.removeAll(keepingCapacity: true)
    }

    private func cancelledError() -> TaskShimError {
        .temporary("The request to \(display) was cancelled before it finished.")
    }

    /// Writes `head` and `more` as one message where they fit in one packet, else one after the other.
    private func write(_ head: [UInt8], more: Data) throws {
        if more.count <= 16 << 10 {
            var message = head
            message.append(contentsOf: more)
            try writeAll(message)
        } else {
            try writeAll(head)
            try writeAll(more)
        }
    }

    private func writeAll<Bytes: ContiguousBytes>(_ bytes: Bytes) throws {
        let socket = currentSocket()
        try bytes.withUnsafeBytes { buffer in
            var offset = 0
            while offset < buffer.count {
                let sent = Glibc.send(socket, buffer.baseAddress! + offset, buffer.count - offset, Int32(MSG_NOSIGNAL))
                if sent < 0 {
                    if errno == EINTR { continue }
                    throw errno == EPIPE || errno == ECONNRESET ? ConnectionError.closedBeforeResponse : ConnectionError.system(errno)
                }
                offset += sent
            }
        }
    }

    private func writeChunks(_ body: StreamingBody) throws {
        while let part = body.nextPart() {
            var chunk = Array(String(part.count, radix: 16).utf8) + [0x0D, 0x0A]
            chunk.append(contentsOf: part)
            chunk.append(contentsOf: [0x0D, 0x0A])
            try writeAll(chunk)
        }
        var end = "0\r\n"
        for line in body.trailers { end += line + "\r\n" }
        end += "\r\n"
        try writeAll(Array(end.utf8))
    }

    /// Reads what has arrived (up to 64 KiB) onto `pending`; false at the end of the stream.
    private func fill() throws -> Bool {
        let socket = currentSocket()
        while true {
            let received = readBuffer.withUnsafeMutableBytes { recv(socket, $0.baseAddress!, $0.count, 0) }
            if received > 0 {
                pending.append(contentsOf: readBuffer[..<received])
                return true
            }
            if received == 0 { return false }
            if errno == EINTR { continue }
            // A reset before any byte of the answer is the idle-close case; after, it is mid-answer.
            if errno == ECONNRESET { throw pending.isEmpty ? ConnectionError.closedBeforeResponse : ConnectionError.closedMidResponse }
            throw ConnectionError.system(errno)
        }
    }

    // MARK: Response

    private func readResponse(isHead: Bool) throws -> HTTPResponse {
        while true {
            let (status, headers, keepAlive) = try readHead()
            // Interim answers (100 Continue and the like) precede the real one.
            if (100..<200).contains(status) && status != 101 { continue }
            let body: [UInt8]
            if isHead || status == 204 || status == 304 {
                body = []
            } else if headers.contains(where: { $0.0 == "transfer-encoding" && $0.1.lowercased().contains("chunked") }) {
                body = try readChunkedBody()
            } else if let length = headers.first(where: { $0.0 == "content-length" }).map({ Int($0.1) }) {
                guard let length, length >= 0 else { throw ConnectionError.malformed("an invalid Content-Length") }
                guard length <= maxResponseBytes else { throw ConnectionError.tooLarge }
                body = try take(length)
            } else {
                body = try readToEnd()
                disconnect()
            }
            if !keepAlive { disconnect() }
            return HTTPResponse(status: status, headers: headers, body: Data(body))
        }
    }

    /// The status line and headers (names lower-cased), and whether the connection stays open.
    private func readHead() throws -> (Int, [(String, String)], Bool) {
        var scanned = 0
        var end: Int?
        while true {
            end = Self.headerEnd(in: pending, from: scanned)
            if end != nil { break }
            scanned = max(0, pending.count - 3)
            guard pending.count <= Self.maxHeaderBytes else { throw ConnectionError.malformed("headers over \(Self.maxHeaderBytes) bytes") }
            let atStart = pending.isEmpty
            guard try fill() else {
                throw atStart ? ConnectionError.closedBeforeResponse : ConnectionError.closedMidResponse
            }
        }
        let headEnd = end!
        // Acknowledge the headers now: a server with Nagle's algorithm on holds the body until then.
        taskshimQuickAck()
        let lines = pending[..<(headEnd - 4)].split(separator: 0x0A, omittingEmptySubsequences: false).map { line in
            line.last == 0x0D ? line.dropLast() : line
        }
        pending.removeFirst(headEnd)
        guard let statusLine = lines.first, statusLine.starts(with: "HTTP/1.".utf8), statusLine.count >= 12,
              let status = Int(String(decoding: statusLine.dropFirst(9).prefix(3), as: UTF8.self)) else {
            throw ConnectionError.malformed("no HTTP/1.x status line")
        }
        let http10 = statusLine.starts(with: "HTTP/1.0".utf8)
        var headers: [(String, String)] = []
        for line in lines.dropFirst() where !line.isEmpty {
            guard let colon = line.firstIndex(of: UInt8(ascii: ":")) else { throw ConnectionError.malformed("a header line without a colon") }
            let name = String(decoding: line[..<colon].lazy.map { $0 >= 0x41 && $0 <= 0x5A ? $0 + 0x20 : $0 }, as: UTF8.self)
            let value = String(decoding: line[(colon + 1)...], as: UTF8.self).trimmed
            headers.append((name, value))
        }
        let connection = headers.first { $0.0 == "connection" }?.1.lowercased()
        let keepAlive = http10 ? connection == "keep-alive" : connection != "close"
        return (status, headers, keepAlive)
    }

    private static func headerEnd(in bytes: [UInt8], from start: Int) -> Int? {
        guard bytes.count >= 4 else { return nil }
        var index = start
        while index + 3 < bytes.count {
            if bytes[index] == 0x0D && bytes[index + 1] == 0x0A && bytes[index + 2] == 0x0D && bytes[index + 3] == 0x0A {
                return index + 4
            }
            index += 1
        }
        return nil
    }

    private func taskshimQuickAck() {
        var one: Int32 = 1
        setsockopt(currentSocket(), Int32(IPPROTO_TCP), TCP_QUICKACK, &one, socklen_t(MemoryLayout<Int32>.size))
    }

    private func take(_ count: Int) throws -> [UInt8] {
        while pending.count < count {
            guard try fill() else { throw ConnectionError.closedMidResponse }
        }
        let bytes = Array(pending[..<count])
        pending.removeFirst(count)
        return bytes
    }

    private func readLine() throws -> ArraySlice<UInt8> {
        while true {
            if let newline = pending.firstIndex(of: 0x0A) {
                var line = pending[..<newline]
                if line.last == 0x0D { line = line.dropLast() }
                let copy = ArraySlice(Array(line))
                pending.removeFirst(newline + 1)
                return copy
            }
            guard pending.count <= Self.maxHeaderBytes else { throw ConnectionError.malformed("a chunk line over \(Self.maxHeaderBytes) bytes") }
            guard try fill() else { throw ConnectionError.closedMidResponse }
        }
    }

    private func readChunkedBody() throws -> [UInt8] {
        var body: [UInt8] = []
        while true {
            let line = try readLine()
            let sizeText = String(decoding: line.prefix { $0 != UInt8(ascii: ";") }, as: UTF8.self).trimmed
            guard let size = Int(sizeText, radix: 16), size >= 0 else { throw ConnectionError.malformed("a bad chunk size") }
            if size == 0 { break }
            guard size <= maxResponseBytes - body.count else { throw ConnectionError.tooLarge }  // no overflow on a huge size
            body.append(contentsOf: try take(size))
            guard try readLine().isEmpty else { throw ConnectionError.malformed("a chunk without its line end") }
        }
        while try !readLine().isEmpty {}  // trailers: none is used
        return body
    }

    private func readToEnd() throws -> [UInt8] {
        while try fill() {
            guard pending.count <= maxResponseBytes else { throw ConnectionError.tooLarge }
        }
        defer { pending.removeAll() }
        return pending
    }
}

/// What went wrong on the wire, before it is told to the user.
enum ConnectionError: Error {
    /// Nothing of a response arrived: on a kept-alive connection, the request can be sent again.
    case closedBeforeResponse
    case closedMidResponse
    case malformed(String)
    case tooLarge
    case system(Int32)

    func taskShimError(peer: String, cancelled: Bool, limit: Int) -> TaskShimError {
        if cancelled { return .temporary("The request to \(peer) was cancelled before it finished.") }
        switch self {
        case .closedBeforeResponse:
            return .temporary("\(peer) closed the connection without answering.", hint: "The server may have restarted; the run can be retried.")
        case .closedMidResponse:
            return .temporary("\(peer) closed the connection in the middle of its answer.", hint: "The run can be retried.")
        case .malformed(let what):
            return TaskShimError(.protocolError, "\(peer) answered with \(what), which is not HTTP/1.1.")
        case .tooLarge:
            return TaskShimError(.protocolError, "The response from \(peer) is larger than \(limit) bytes.")
        case .system(let code):
            return .temporary("The connection to \(peer) failed: \(String(cString: strerror(code))).", hint: "The run can be retried.")
        }
    }
}
