import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Runs `body` with the socket address of 127.0.0.1:`port`.
func withLoopbackAddress<T>(_ port: Int, _ body: (UnsafePointer<sockaddr>, socklen_t) -> T) -> T {
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    address.sin_port = UInt16(port).bigEndian
    return withUnsafePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { body($0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
    }
}

/// A TCP socket connected to 127.0.0.1:`port` (the caller closes it), or nil when nothing accepts there.
func connectLoopback(_ port: Int) -> Int32? {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    if withLoopbackAddress(port, { connect(fd, $0, $1) }) == 0 { return fd }
    close(fd)
    return nil
}
