import CHiredis
import FoundationEssentials
import Synchronization
import TaskShimCore
#if canImport(Glibc)
import Glibc
#endif

/// A connection to Redis over our own socket (TLS through OpenSSL for `rediss://`: Debian's hiredis
/// 0.14 has none), with hiredis's command formatter and reply reader.
/// Commands run one at a time on the connection's own thread; each is bounded by the connection's
/// timeout and the run's deadline, and cancelling the calling task shuts the socket down. A
/// connection that failed mid-command is closed and opened again by the next command (the failed
/// command is not resent: the caller's retry policy decides).
///
/// Error replies are thrown, classified for retries: `LOADING`, `BUSY`, `TRYAGAIN`, `CLUSTERDOWN`,
/// `MASTERDOWN`, `READONLY`, `NOREPLICAS` and `MISCONF` are temporary (exit 75); `NOAUTH`, `WRONGPASS`
/// and `NOPERM` are permission errors (77); anything else is the command's fault (65).
public final class RedisConnection: @unchecked Sendable {
    /// Where a `redis://` URL points.
    public struct Address: Sendable, Equatable {
        public var host: String
        public var port: Int
        public var username: String?
        public var password: String?
        public var database: Int
        public var tls: Bool
        /// `host:port/db`, without credentials.
        public var display: String { "\(host):\(port)/\(database)" }
    }

    public let address: Address
    public let timeout: Duration
    /// The CA bundle trusted for `rediss://` instead of the system's.
    public let caFile: String?
    private let queue = BlockingQueue(label: "taskshim.redis")
    /// The open socket (-1 when closed) and the command using it (0: none), under one lock: a
    /// cancelled caller shuts the socket down only while its own command runs on it, and the socket
    /// is never closed (and its number reused) in between.
    private struct Line {
        var socket: Int32 = -1
        var command = 0
        var nextCommand = 1
    }
    private let line = Mutex(Line())
    // Touched only on `queue`'s thread.
    private var reader: UnsafeMutablePointer<redisReader>?
    private var tls: TLSSession?
    private var buffer = [UInt8](repeating: 0, count: 64 << 10)

    private init(address: Address, timeout: Duration, caFile: String?) {
        self.address = address
        self.timeout = timeout
        self.caFile = caFile
    }

    deinit {
        line.withLock { line in
            if line.socket >= 0 { Glibc.close(line.socket) }
            line.socket = -1
        }
        if let reader { redisReaderFree(reader) }
    }

    /// Connects (and authenticates, and selects the database) to `redis://[user:password@]host[:port][/db]`,
    /// or over TLS to `rediss://...`, the server's certificate verified against the system's CAs or `caFile`.
    public static func connect(url: String, timeout: Duration = .seconds(10), caFile: String? = nil) async throws -> RedisConnection {
        let address = try parse(url: url)
        try NativeLibrary.hiredis.require(for: "Redis (\(address.display))")
        let connection = RedisConnection(address: address, timeout: timeout, caFile: caFile)
        let bounded = try Deadline.bound(timeout, for: "connecting to Redis (\(address.display))")
        try await connection.queue.run { try connection.open(timeout: bounded) }
        return connection
    }

    /// Parses a Redis URL: `redis://` or `rediss://`, optional `user:password@` (percent-encoded),
    /// port 6379 by default, the database number as the path.
    public static func parse(url: String) throws(TaskShimError) -> Address {
        guard let components = URLComponents(string: url), let scheme = components.scheme?.lowercased(),
              scheme == "redis" || scheme == "rediss", let host = components.host, !host.isEmpty else {
            throw .configuration("The Redis URL is not redis://host[:port][/db] or rediss://....",
                                 hint: "For example redis://127.0.0.1:6379/0 or redis://:password@cache.internal:6379/1.")
        }
        let path = components.path.trimmingPrefix("/")
        guard let database = path.isEmpty ? 0 : Int(path), database >= 0 else {
            throw .configuration("The Redis URL's database '\(path)' is not a number.", hint: "Use /0, /1...")
        }
        let user = components.user.flatMap { $0.isEmpty ? nil : $0 }
        let password = components.password
        return Address(host: host, port: components.port ?? 6379, username: user, password: password, database: database,
                       tls: scheme == "rediss")
    }

    /// Sends one command (`["SET", "key", "value"]`) and returns its reply.
    public func command(_ arguments: [String]) async throws -> RedisReply {
        try await command(bytes: arguments.map { Array($0.utf8) })
    }

    /// Sends one command whose arguments may be binary and returns its reply.
    public func command(bytes arguments: [[UInt8]]) async throws -> RedisReply {
        let bounded = try Deadline.bound(timeout, for: "a Redis command (\(address.display))")
        let token = line.withLock { line -> Int in
            defer { line.nextCommand += 1 }
            return line.nextCommand
        }
        return try await withTaskCancellationHandler {
            try await queue.run { [self] in
                if line.withLock({ $0.socket }) < 0 { try open(timeout: bounded) }
                line.withLock { $0.command = token }
                defer { line.withLock { if $0.command == token { $0.command = 0 } } }
                return try roundTrip(arguments, timeout: bounded)
            }
        } onCancel: {
            line.withLock { line in
                if line.command == token, line.socket >= 0 { shutdown(line.socket, Int32(SHUT_RDWR)) }
            }
        }
    }

    /// The next reply the server pushes unasked (a `SUBSCRIBE`d channel's messages), or nil when none
    /// came within `timeout`; the connection stays open either way. Throws when it is lost.
    public func receive(timeout: Duration) async throws -> RedisReply? {
        try await queue.run { [self] in
            let descriptor = line.withLock { $0.socket }
            guard descriptor >= 0, let reader else { throw TaskShimError.temporary("The connection to Redis at \(address.display) is closed.") }
            TCPSocket.setTimeouts(descriptor, timeout)
            while true {
                if let reply = try nextReply(reader) { return reply }
                let received = tls?.read(into: &buffer) ?? TCPSocket.read(descriptor, into: &buffer)
                if received < 0 && (errno == EAGAIN || errno == EWOULDBLOCK) { return nil }
                if received <= 0 { throw lost(while: "waiting for pushed messages") }
                try feed(reader, received)
            }
        }
    }

    /// Closes the connection; the next command opens it again.
    public func close() async {
        _ = try? await queue.run { [self] in disconnect() }
    }

    // MARK: On the connection's thread

    private func open(timeout: Duration) throws {
        disconnect()
        let descriptor = try TCPSocket.connect(host: address.host, port: address.port, timeout: timeout, display: "Redis at \(address.display)")
        line.withLock { $0.socket = descriptor }
        if address.tls {
            do {
                tls = try TLSSession(socket: descriptor, host: address.host, caFile: caFile, peer: "Redis at \(address.display)")
            } catch {
                disconnect()
                throw error
            }
        }
        reader = redisReaderCreate()
        guard reader != nil else {
            disconnect()
            throw TaskShimError.temporary("hiredis could not allocate a reply reader.")
        }
        do {
            if let password = address.password {
                _ = try roundTrip((address.username.map { ["AUTH", $0] } ?? ["AUTH"]).map { Array($0.utf8) } + [Array(password.utf8)], timeout: timeout)
            }
            if address.database != 0 {
                _ = try roundTrip([Array("SELECT".utf8), Array(String(address.database).utf8)], timeout: timeout)
            }
        } catch {
            disconnect()
            throw error
        }
    }

    private func disconnect() {
        tls?.close()
        tls = nil
        line.withLock { line in
            if line.socket >= 0 { Glibc.close(line.socket) }
            line.socket = -1
        }
        if let reader { redisReaderFree(reader) }
        reader = nil
    }

    private func roundTrip(_ arguments: [[UInt8]], timeout: Duration) throws -> RedisReply {
        let descriptor = line.withLock { $0.socket }
        guard descriptor >= 0, let reader else { throw TaskShimError.temporary("The connection to Redis at \(address.display) is closed.") }
        TCPSocket.setTimeouts(descriptor, timeout)
        let name = arguments.first.map { String(decoding: $0, as: UTF8.self).uppercased() } ?? "?"
        let sent = try format(arguments) { tls?.writeAll($0) ?? TCPSocket.writeAll(descriptor, $0) }
        guard sent else { throw lost(while: "sending \(name)") }
        while true {
            if let reply = try nextReply(reader) { return reply }
            let received = tls?.read(into: &buffer) ?? TCPSocket.read(descriptor, into: &buffer)
            if received <= 0 { throw lost(while: "waiting for the reply to \(name)") }
            try feed(reader, received)
        }
    }

    /// A whole reply the reader holds, or nil when it needs more bytes.
    private func nextReply(_ reader: UnsafeMutablePointer<redisReader>) throws -> RedisReply? {
        var reply: UnsafeMutableRawPointer?
        guard redisReaderGetReply(reader, &reply) == REDIS_OK else {
            let reason = withUnsafeBytes(of: reader.pointee.errstr) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
            disconnect()
            throw TaskShimError(.protocolError, "Redis at \(address.display) sent a reply hiredis cannot read: \(reason).")
        }
        guard let reply else { return nil }
        defer { freeReplyObject(reply) }
        return try convert(reply.assumingMemoryBound(to: redisReply.self))
    }

    /// Hands the reader the first `count` bytes of the buffer.
    private func feed(_ reader: UnsafeMutablePointer<redisReader>, _ count: Int) throws {
        let fed = buffer.withUnsafeBytes { redisReaderFeed(reader, $0.baseAddress!.assumingMemoryBound(to: CChar.self), count) }
        guard fed == REDIS_OK else {
            disconnect()
            throw TaskShimError(.protocolError, "Redis at \(address.display) sent more than hiredis can buffer.")
        }
    }

    /// The command in Redis's wire format, from hiredis's formatter, handed to `body`.
    private func format(_ arguments: [[UInt8]], _ body: (UnsafeRawBufferPointer) -> Bool) throws -> Bool {
        var pointers: [UnsafeMutablePointer<CChar>?] = arguments.map { argument in
            let copy = UnsafeMutablePointer<CChar>.allocate(capacity: max(1, argument.count))
            argument.withUnsafeBufferPointer { source in
                guard let start = source.baseAddress else { return }
                copy.withMemoryRebound(to: UInt8.self, capacity: argument.count) { $0.update(from: start, count: argument.count) }
            }
            return copy
        }
        defer { for pointer in pointers { pointer?.deallocate() } }
        var lengths = arguments.map { $0.count }
        var target: UnsafeMutablePointer<CChar>?
        let length = pointers.withUnsafeMutableBufferPointer { argv in
            argv.baseAddress!.withMemoryRebound(to: UnsafePointer<CChar>?.self, capacity: argv.count) { constArgv in
                redisFormatCommandArgv(&target, Int32(arguments.count), constArgv, &lengths)
            }
        }
        guard length > 0, let target else { throw TaskShimError(.software, "hiredis could not format a Redis command.") }
        defer { redisFreeCommand(target) }
        return body(UnsafeRawBufferPointer(start: target, count: Int(length)))
    }

    private func convert(_ reply: UnsafeMutablePointer<redisReply>) throws -> RedisReply {
        let value = reply.pointee
        func bytes() -> [UInt8] {
            guard let text = value.str else { return [] }
            return Array(UnsafeRawBufferPointer(start: text, count: value.len))
        }
        switch value.type {
        case REDIS_REPLY_STATUS: return .status(String(decoding: bytes(), as: UTF8.self))
        case REDIS_REPLY_INTEGER: return .integer(Int64(value.integer))
        case REDIS_REPLY_STRING: return .bulk(bytes())
        case REDIS_REPLY_NIL: return .null
        case REDIS_REPLY_ERROR: throw Self.classify(String(decoding: bytes(), as: UTF8.self), peer: address.display)
        case REDIS_REPLY_ARRAY:
            var elements: [RedisReply] = []
            elements.reserveCapacity(value.elements)
            for index in 0..<value.elements {
                guard let element = value.element[index] else { elements.append(.null); continue }
                elements.append(try convert(element))
            }
            return .array(elements)
        default:
            throw TaskShimError(.protocolError, "Redis at \(address.display) sent a reply of unknown type \(value.type).")
        }
    }

    private func lost(while doing: String) -> TaskShimError {
        let timedOut = errno == EAGAIN || errno == EWOULDBLOCK
        let reason = String(cString: strerror(errno))
        disconnect()
        if timedOut {
            return .temporary("Redis at \(address.display) did not answer in time while \(doing).",
                              hint: "The server may be overloaded or blocked by a long command; the run can be retried.")
        }
        return .temporary("The connection to Redis at \(address.display) was lost while \(doing): \(reason).",
                          hint: "The server may have restarted; the run can be retried.")
    }

    /// What an error reply means for the caller: temporary (retry later), permission, or the command's fault.
    public static func classify(_ message: String, peer: String) -> TaskShimError {
        let code = message.prefix { $0 != " " }
        switch code {
        case "LOADING", "BUSY", "TRYAGAIN", "CLUSTERDOWN", "MASTERDOWN", "READONLY", "NOREPLICAS", "MISCONF":
            return .temporary("Redis at \(peer) cannot serve the command now: \(message)", hint: "It should pass; the call can be retried.")
        case "NOAUTH", "WRONGPASS", "NOPERM":
            return TaskShimError(.noPermission, "Redis at \(peer) refused the command: \(message)",
                                 hint: "Check the user and password in the Redis URL and the user's ACL.")
        default:
            return .data("Redis at \(peer) refused the command: \(message)")
        }
    }
}
