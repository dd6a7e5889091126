import COpenSSL
import FoundationEssentials
import TaskShimCore
#if canImport(Glibc)
import Glibc
#endif

/// A TLS client session over a connected socket, with OpenSSL's libssl: TLS 1.2 or newer, the peer's
/// certificate verified against the system's CAs (or `caFile`) and its name or IP address checked,
/// always. Blocking, like the socket under it: the socket's send and receive timeouts bound each
/// call. Used by the clients that speak their protocol themselves (Redis).
final class TLSSession {
    private let context: OpaquePointer
    private let ssl: OpaquePointer
    let peer: String

    /// Shakes hands on `socket` (which stays the caller's to close) with `host`; throws a
    /// configuration error when the certificate is not trusted, a temporary one when the connection fails.
    init(socket: Int32, host: String, caFile: String?, peer: String) throws {
        try NativeLibrary.ssl.require(for: "TLS to \(peer)")
        // OpenSSL writes to the socket with write(2): a peer gone mid-write would raise SIGPIPE and end
        // the process (a worker with jobs to release). Ignored, the write fails with EPIPE instead.
        Self.ignoreBrokenPipes

        ERR_clear_error()
        guard let context = SSL_CTX_new(TLS_client_method()) else { throw Self.error("cannot create a TLS context", peer: peer) }
        self.context = context
        self.peer = peer
        _ = taskshim_ssl_ctx_min_tls12(context)
        SSL_CTX_set_verify(context, SSL_VERIFY_PEER, nil)
        let loaded = if let caFile { SSL_CTX_load_verify_locations(context, caFile, nil) } else { SSL_CTX_set_default_verify_paths(context) }
        guard loaded == 1 else {
            SSL_CTX_free(context)
            throw TaskShimError.configuration("Cannot load the CA certificates \(caFile ?? "of the system") for TLS to \(peer).",
                                              hint: caFile == nil ? "Install ca-certificates." : "Check that TASKSHIM_CA_FILE is a PEM bundle.")
        }
        guard let ssl = SSL_new(context) else {
            SSL_CTX_free(context)
            throw Self.error("cannot create a TLS session", peer: peer)
        }
        self.ssl = ssl
        // The name the certificate must carry: an IP address is checked against its IP entries.
        var address = in6_addr()
        let isIP = inet_pton(AF_INET, host, &address) == 1 || inet_pton(AF_INET6, host, &address) == 1
        if isIP {
            _ = X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), host)
        } else {
            _ = taskshim_ssl_set_sni(ssl, host)
            // Without the expected name the handshake would accept any trusted certificate: refuse instead.
            guard SSL_set1_host(ssl, host) == 1 else { throw Self.error("cannot set the expected host name \(host)", peer: peer) }
        }
        _ = SSL_set_fd(ssl, socket)
        let status = SSL_connect(ssl)
        // From here a throw runs deinit (every property is set), which frees both.
        guard status == 1 else {
            let verify = SSL_get_verify_result(ssl)
            if verify != X509_V_OK {
                let reason = String(cString: X509_verify_cert_error_string(verify))
                throw TaskShimError.configuration("The TLS certificate of \(peer) is not trusted: \(reason).",
                                                  hint: "Set TASKSHIM_CA_FILE to a CA bundle that trusts it (managed services publish theirs); verification stays on.")
            }
            throw Self.error("the TLS handshake failed", peer: peer, status: SSL_get_error(ssl, status))
        }
    }

    private static let ignoreBrokenPipes: Void = { _ = signal(SIGPIPE, SIG_IGN) }()

    deinit {
        SSL_free(ssl)
        SSL_CTX_free(context)
    }

    /// Writes all of `bytes`; false when the connection failed or the send timed out.
    func writeAll(_ bytes: UnsafeRawBufferPointer) -> Bool {
        var offset = 0
        while offset < bytes.count {
            let written = SSL_write(ssl, bytes.baseAddress! + offset, Int32(min(bytes.count - offset, Int(Int32.max))))
            if written <= 0 { return false }
            offset += Int(written)
        }
        return true
    }

    /// Reads what has arrived: the byte count, 0 at the end of the stream, -1 on an error or a
    /// timeout (`errno` is `EAGAIN` then).
    func read(into buffer: inout [UInt8]) -> Int {
        let count = buffer.withUnsafeMutableBytes { SSL_read(ssl, $0.baseAddress, Int32($0.count)) }
        if count > 0 { return Int(count) }
        return SSL_get_error(ssl, count) == SSL_ERROR_ZERO_RETURN ? 0 : -1
    }

    /// Says goodbye (close_notify), without waiting for the peer's.
    func close() { _ = SSL_shutdown(ssl) }

    private static func error(_ what: String, peer: String, status: Int32 = 0) -> TaskShimError {
        let code = ERR_get_error()
        var text = ""
        if code != 0 {
            var buffer = [CChar](repeating: 0, count: 256)
            ERR_error_string_n(code, &buffer, buffer.count)
            text = ": " + String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        } else if status == SSL_ERROR_SYSCALL {
            text = ": \(String(cString: strerror(errno)))"
        }
        return .temporary("TLS to \(peer): \(what)\(text).", hint: "Check that the server speaks TLS on this port (rediss:// needs a TLS port).")
    }
}
