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
/// Responses may use `Content-Length`, chunked encoding or end with the connection. Before a kept-alive
/// connection is reused it is checked: one the server closed while idle is replaced first, so a request
/// is never sent twice.
public final class LocalHTTPConnection: Sendable {
    public let host: String
    public let port: Int
    public let maxResponseBytes: Int
    static let maxHeaderBytes = 64 << 10
    /// Interim (1xx) answers accepted before the real one.
    static let maxInterimResponses = 8
    private let queue = BlockingQueue(label: "taskshim.local-http")
    private let state = Mutex(SocketState())
    private let lastRequest = Atomic<Int>(0)

    /// The socket, the request using it, and the requests whose tasks gave up; shared with the
    /// cancellation handler, which shuts the socket down to end that request's blocked read or write.
    private struct SocketState {
        var socket: Int32 = -1
        var running: Int?
        var cancelled: Set<Int> = []
    }

    // Touched only on `queue`: bytes received, of which those before `consumed` are used up; what
    // `recv` reads into; what the current response has received so far.
    nonisolated(unsafe) private var pending: [UInt8] = []
    nonisolated(unsafe) private var consumed = 0
    nonisolated(unsafe) private var readBuffer = [UInt8](repeating: 0, count: 64 << 10)
    nonisolated(unsafe) private var receivedForResponse = 0

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

    var display: String { host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)" }

    /// Sends a request with a complete body and returns the response, whatever its status. Throws a
    /// temporary error when the peer cannot be reached or drops the connection, a protocol error when
    /// it answers something that is not HTTP/1.1 or more than `maxResponseBytes`, a usage error for a
    /// header with a line break. Cancelling the calling task shuts the request's connection down at once.
    public func send(method: String, path: String, headers: [(String, String)] = [], body: Data = Data()) async throws -> HTTPResponse {
        try await cancellable(streaming: nil) { [self] id in
            try perform(id, method: method, path: path, headers: headers, body: .complete(body))
        }
    }

    /// Sends a request whose body is produced while it is sent, with chunked transfer encoding and the
    /// trailers handed to ``StreamingBody/finish(trailers:)``. When the request fails, the producer's
    /// next ``StreamingBody/write(_:)`` throws the same error.
    public func send(method: String, path: String, headers: [(String, String)] = [], streaming body: StreamingBody) async throws -> HTTPResponse {
        do {
            let response = try await cancellable(streaming: body) { [self] id in
                try perform(id, method: method, path: path, headers: headers, body: .streaming(body))
            }
            // Normally the whole body was sent; a server may also answer early. Either way the producer
            // must not wait on a sender that is gone.
            body.abandon(TaskShimError(.protocolError, "\(display) answered with \(response.status) before the streamed body ended."))
            return response
        } catch {
            body.abandon(error)
            throw error
        }
    }

    private enum Body {
        case complete(Data)
        case streaming(StreamingBody)
    }

    private func cancellable(streaming: StreamingBody?, _ body: @escaping @Sendable (Int) throws -> HTTPResponse) async throws -> HTTPResponse {
        let id = lastRequest.add(1, ordering: .relaxed).newValue
        return try await withTaskCancellationHandler {
            try await queue.run { try body(id) }
        } onCancel: {
            state.withLock { state in
                state.cancelled.insert(id)
                // Only this request's own transfer: a request still queued leaves the running one alone.
                if state.running == id && state.socket >= 0 { shutdown(state.socket, Int32(SHUT_RDWR)) }
            }
            streaming?.abandon(TaskShimError.temporary("The request to \(display) was cancelled before it finished."))
        }
    }

    private func perform(_ id: Int, method: String, path: String, headers: [(String, String)], body: Body) throws -> HTTPResponse {
        let cancelled = state.withLock { state in
            state.running = id
            return state.cancelled.contains(id)
        }
        defer { state.withLock { state in state.running = nil; state.cancelled.remove(id) } }
        if cancelled { throw cancelledError() }
        let head = try requestHead(method: method, path: path, headers: headers, body: body)
        do {
            if currentSocket() >= 0 && !isStillOpen() { disconnect() }
            if currentSocket() < 0 { try connect() }
            receivedForResponse = 0
            do {
                switch body {
                case .complete(let data):
                    try write(head, more: data)
                case .streaming(let parts):
                    try write(head, more: Data())
                    try writeChunks(parts)
                }
            } catch ConnectionError.writeFailed(let code) {
                // A server may answer early (413) and close before reading everything: read what it said.
                if let early = try? readResponse(isHead: false) { return early }
                throw ConnectionError.system(code)
            }
            return try readResponse(isHead: method.uppercased() == "HEAD")
        } catch let error as ConnectionError {
            disconnect()
            throw error.taskShimError(peer: display, cancelled: state.withLock { $0.cancelled.contains(id) }, limit: maxResponseBytes)
        } catch {
            disconnect()
            throw error
        }
    }

    private func requestHead(method: String, path: String, headers: [(String, String)], body: Body) throws -> [UInt8] {
        for text in [method, path] + headers.flatMap({ [$0.0, $0.1] }) where text.utf8.contains(where: { $0 == 0x0D || $0 == 0x0A }) {
            throw TaskShimError.usage("An HTTP request to \(display) would carry a line break in '\(text.prefix(60))'; it is not sent.")
        }
        guard !path.utf8.contains(0x20) else {
            throw TaskShimError.usage("The path '\(path.prefix(60))' holds a space; it is not sent.")
        }
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

    /// Whether the kept-alive connection can take a request: the server has neither closed it nor sent
    /// anything unasked since the last response.
    private func isStillOpen() -> Bool {
        guard consumed == pending.count else { return false }
        var byte: UInt8 = 0
        let peeked = recv(currentSocket(), &byte, 1, Int32(MSG_PEEK | MSG_DONTWAIT))
        return peeked < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)
    }

    private func connect() throws {
        let socket = try TCPSocket.connect(host: host, port: port, timeout: nil, display: display)
        let cancelled = state.withLock { state in
            let cancelled = state.running.map { state.cancelled.contains($0) } ?? false
            if !cancelled { state.socket = socket }
            return cancelled
        }
        if cancelled {
            close(socket)
            throw cancelledError()
        }
        pending.removeAll(keepingCapacity: true)
        consumed = 0
    }

    private func disconnect() {
        let socket = state.withLock { state in
            defer { state.socket = -1 }
            return state.socket
        }
        if socket >= 0 { close(socket) }
        pending.removeAll(keepingCapacity: true)
        consumed = 0
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
                    throw errno == EPIPE || errno == ECONNRESET ? ConnectionError.writeFailed(errno) : ConnectionError.system(errno)
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
        for line in body.trailers {
            guard !line.utf8.contains(where: { $0 == 0x0D || $0 == 0x0A }) else {
                throw TaskShimError.usage("A trailer for \(display) would carry a line break; it is not sent.")
            }
            end += line + "\r\n"
        }
        end += "\r\n"
        try writeAll(Array(end.utf8))
    }

    /// Reads what has arrived (up to 64 KiB) onto `pending`; false at the end of the stream. Counts
    /// every byte against the response's limit, framing included, so no answer can run on forever.
    private func fill() throws -> Bool {
        if consumed > 0 && (consumed == pending.count || consumed >= 64 << 10) {
            pending.removeFirst(consumed)
            consumed = 0
        }
        let socket = currentSocket()
        while true {
            let received = readBuffer.withUnsafeMutableBytes { recv(socket, $0.baseAddress!, $0.count, 0) }
            if received > 0 {
                receivedForResponse += received
                guard receivedForResponse <= maxResponseBytes + 2 * Self.maxHeaderBytes else { throw ConnectionError.tooLarge }
                pending.append(contentsOf: readBuffer[..<received])
                return true
            }
            if received == 0 { return false }
            if errno == EINTR { continue }
            if errno == ECONNRESET { throw receivedForResponse == 0 ? ConnectionError.closedBeforeResponse : ConnectionError.closedMidResponse }
            throw ConnectionError.system(errno)
        }
    }

    private var available: Int { pending.count - consumed }

    // MARK: Response

    private func readResponse(isHead: Bool) throws -> HTTPResponse {
        for _ in 0...Self.maxInterimResponses {
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
        throw ConnectionError.malformed("more than \(Self.maxInterimResponses) interim answers")
    }

    /// The status line and headers (names lower-cased), and whether the connection stays open.
    private func readHead() throws -> (Int, [(String, String)], Bool) {
        var searched = 0  // bytes after `consumed` known to hold no header end
        var headEnd: Int
        while true {
            if let end = Self.headerEnd(in: pending, from: consumed + searched) {
                headEnd = end
                break
            }
            searched = max(0, available - 3)
            guard available <= Self.maxHeaderBytes else { throw ConnectionError.malformed("headers over \(Self.maxHeaderBytes) bytes") }
            let nothingYet = receivedForResponse == 0
            guard try fill() else { throw nothingYet ? ConnectionError.closedBeforeResponse : ConnectionError.closedMidResponse }
        }
        // Acknowledge the headers now: a server with Nagle's algorithm on holds the body until then.
        var one: Int32 = 1
        setsockopt(currentSocket(), Int32(IPPROTO_TCP), TCP_QUICKACK, &one, socklen_t(MemoryLayout<Int32>.size))
        let lines = pending[consumed..<(headEnd - 4)].split(separator: 0x0A, omittingEmptySubsequences: false).map { line in
            line.last == 0x0D ? line.dropLast() : line
        }
        consumed = headEnd
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
        var index = max(start, 0)
        while index + 3 < bytes.count {
            if bytes[index] == 0x0D && bytes[index + 1] == 0x0A && bytes[index + 2] == 0x0D && bytes[index + 3] == 0x0A {
                return index + 4
            }
            index += 1
        }
        return nil
    }

    private func take(_ count: Int) throws -> [UInt8] {
        while available < count {
            guard try fill() else { throw ConnectionError.closedMidResponse }
        }
        let bytes = Array(pending[consumed..<(consumed + count)])
        consumed += count
        return bytes
    }

    private func readLine() throws -> ArraySlice<UInt8> {
        var searched = 0  // bytes after `consumed` known to hold no line end (fill may move `consumed`)
        while true {
            if let newline = pending[(consumed + searched)...].firstIndex(of: 0x0A) {
                var line = pending[consumed..<newline]
                if line.last == 0x0D { line = line.dropLast() }
                let copy = ArraySlice(Array(line))
                consumed = newline + 1
                return copy
            }
            searched = available
            guard available <= Self.maxHeaderBytes else { throw ConnectionError.malformed("a chunk line over \(Self.maxHeaderBytes) bytes") }
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
            guard available <= maxResponseBytes else { throw ConnectionError.tooLarge }
        }
        let bytes = Array(pending[consumed...])
        consumed = pending.count
        return bytes
    }
}

/// What went wrong on the wire, before it is told to the user.
enum ConnectionError: Error {
    /// The server closed the connection before any byte of an answer.
    case closedBeforeResponse
    case closedMidResponse
    /// Sending failed because the server closed or reset the connection (EPIPE, ECONNRESET).
    case writeFailed(Int32)
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
        case .writeFailed(let code), .system(let code):
            return .temporary("The connection to \(peer) failed: \(String(cString: strerror(code))).", hint: "The run can be retried.")
        }
    }
}
