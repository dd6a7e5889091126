import FoundationEssentials
import TaskShimCore
#if canImport(Glibc)
import Glibc
#endif

/// Blocking TCP sockets for the clients that speak their protocol themselves (the Lambda Runtime API,
/// Redis): connect with a time limit, write everything, read what has arrived.
enum TCPSocket {
    /// A connected socket (TCP_NODELAY, close-on-exec) to the first address of `host` that accepts,
    /// within `timeout` per address. Throws a temporary error naming `display` when none does.
    static func connect(host: String, port: Int, timeout: Duration?, display: String) throws(TaskShimError) -> Int32 {
        var hints = addrinfo()
        hints.ai_family = AF_UNSPEC
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        var list: UnsafeMutablePointer<addrinfo>?
        let status = getaddrinfo(host, String(port), &hints, &list)
        guard status == 0, let list else {
            throw .temporary("Cannot resolve \(host) for \(display): \(String(cString: gai_strerror(status))).",
                             hint: "Check the host name and the DNS of this machine.")
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
            // Linux bounds connect(2) by the send timeout.
            if let timeout { setTimeouts(socket, timeout) }
            if Glibc.connect(socket, current.pointee.ai_addr, current.pointee.ai_addrlen) == 0 { return socket }
            lastError = errno == EINPROGRESS || errno == EAGAIN ? ETIMEDOUT : errno
            close(socket)
        }
        throw .temporary("Cannot connect to \(display): \(String(cString: strerror(lastError))).",
                         hint: "Check that the server is running and listening there.")
    }

    /// Send and receive time limits (`SO_SNDTIMEO`, `SO_RCVTIMEO`); `.zero` means none.
    static func setTimeouts(_ socket: Int32, _ timeout: Duration) {
        let (seconds, attoseconds) = timeout.components
        var value = timeval(tv_sec: Int(seconds), tv_usec: Int(attoseconds / 1_000_000_000_000))
        setsockopt(socket, SOL_SOCKET, SO_RCVTIMEO, &value, socklen_t(MemoryLayout<timeval>.size))
        setsockopt(socket, SOL_SOCKET, SO_SNDTIMEO, &value, socklen_t(MemoryLayout<timeval>.size))
    }

    /// Writes all of `bytes`; false when the peer is gone or the send timed out (`errno` says which).
    static func writeAll(_ socket: Int32, _ bytes: UnsafeRawBufferPointer) -> Bool {
        var offset = 0
        while offset < bytes.count {
            let sent = Glibc.send(socket, bytes.baseAddress! + offset, bytes.count - offset, Int32(MSG_NOSIGNAL))
            if sent < 0 {
                if errno == EINTR { continue }
                return false
            }
            offset += sent
        }
        return true
    }

    /// Reads what has arrived into `buffer`: the byte count, 0 at the end of the stream, -1 on an
    /// error or a timeout (`errno` is `EAGAIN` then).
    static func read(_ socket: Int32, into buffer: inout [UInt8]) -> Int {
        while true {
            let received = buffer.withUnsafeMutableBytes { recv(socket, $0.baseAddress!, $0.count, 0) }
            if received < 0 && errno == EINTR { continue }
            return received
        }
    }
}
