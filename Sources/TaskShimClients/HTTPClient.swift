import CCurl
import Dispatch
import FoundationEssentials
import Synchronization
import TaskShimCore

/// An HTTP client over libcurl: one reused handle, so consecutive requests to the same host reuse the
/// connection (keep-alive); TLS peer and host verification on; a timeout on every request; a cap on
/// how much a response may send. Requests run on the client's own thread, one at a time.
public final class HTTPClient: @unchecked Sendable {
    /// Limits and TLS settings.
    public struct Options: Sendable {
        public var connectTimeout: Duration = .seconds(10)
        /// The whole request, from connect to the last byte of the response; `.zero` for no limit (a
        /// long poll such as the Lambda Runtime API's `next`).
        public var requestTimeout: Duration = .seconds(30)
        /// Responses larger than this fail with a protocol error.
        public var maxResponseBytes: Int = 8 << 20
        /// A CA bundle to trust instead of the system's (`TASKSHIM_CA_FILE`).
        public var caFile: String?
        public var userAgent: String = "taskshim"

        public init(connectTimeout: Duration = .seconds(10), requestTimeout: Duration = .seconds(30),
                    maxResponseBytes: Int = 8 << 20, caFile: String? = nil) {
            self.connectTimeout = connectTimeout
            self.requestTimeout = requestTimeout
            self.maxResponseBytes = maxResponseBytes
            self.caFile = caFile
        }
    }

    /// Once per process, after libcurl is loaded.
    private static let globalInit: Bool = curl_global_init(Int(CURL_GLOBAL_DEFAULT)) == CURLE_OK

    public let options: Options
    // Touched only on `queue`.
    private var handle: OpaquePointer?
    /// The connection's socket, as libcurl last opened it (-1 before the first request).
    private var socket: Int32 = -1
    private let queue = BlockingQueue(label: "taskshim.http")

    public init(options: Options = Options()) {
        self.options = options
    }

    /// The client's thread as a task executor. A task that prefers it sends its requests inline, without
    /// the two thread hops a request otherwise costs; while a request runs, nothing else on it does.
    public var executor: any TaskExecutor { queue }

    deinit {
        if let handle { curl_easy_cleanup(UnsafeMutableRawPointer(handle)) }
    }

    /// Sends a request and returns the response, whatever its status. Throws a temporary error when
    /// the server cannot be reached or times out, and a permanent one for a bad URL or a failed TLS check.
    /// Cancelling the calling task aborts the transfer within about a second; inside a run, the request
    /// is also cut off at the run's deadline (``Deadline/current``).
    public func send(_ request: HTTPRequest) async throws -> HTTPResponse {
        let sink = ResponseSink(limit: options.maxResponseBytes)
        let timeout = try Deadline.bound(options.requestTimeout, for: "the request to \(Self.host(of: request.url))")
        return try await withTaskCancellationHandler {
            try await queue.run { [self] in try perform(request, sink: sink, timeout: timeout) }
        } onCancel: {
            sink.cancelled.store(true, ordering: .relaxed)
        }
    }

    private func perform(_ request: HTTPRequest, sink: ResponseSink, timeout: Duration) throws -> HTTPResponse {
        if handle == nil {
            try NativeLibrary.curl.require(for: "An HTTP request")
            _ = Self.globalInit
            handle = OpaquePointer(curl_easy_init())
        }
        guard let rawHandle = handle.map({ UnsafeMutableRawPointer($0) }) else {
            throw TaskShimError.temporary("libcurl could not create a handle.")
        }
        curl_easy_reset(rawHandle)  // keeps the connection cache, forgets the last request's options
        sink.socket = socket
        defer { socket = sink.socket }
        var errorBuffer = [CChar](repeating: 0, count: Int(CURL_ERROR_SIZE) + 1)
        var headerList: UnsafeMutablePointer<curl_slist>?
        defer { curl_slist_free_all(headerList) }
        for (name, value) in request.headers {
            headerList = curl_slist_append(headerList, "\(name): \(value)")
        }
        // No 100-continue round trip. Not on a SigV4-signed request: libcurl (7.88) signs the removed
        // header as `expect` with an empty value, a signature AWS then refuses. Signed bodies are small,
        // far below the 1 MiB at which libcurl would ask to continue.
        if request.awsSignature == nil, !request.headers.contains(where: { $0.0.lowercased() == "expect" }) {
            headerList = curl_slist_append(headerList, "Expect:")
        }

        let result: CURLcode = withExtendedLifetime(sink) {
            errorBuffer.withUnsafeMutableBufferPointer { errorPointer in
                let context = Unmanaged.passUnretained(sink).toOpaque()
                taskshim_curl_setopt_string(rawHandle, CURLOPT_URL, request.url)
                taskshim_curl_setopt_long(rawHandle, CURLOPT_NOSIGNAL, 1)
                let connectTimeout = timeout == .zero ? options.connectTimeout : min(options.connectTimeout, timeout)
                taskshim_curl_setopt_long(rawHandle, CURLOPT_CONNECTTIMEOUT_MS, Self.milliseconds(connectTimeout))
                taskshim_curl_setopt_long(rawHandle, CURLOPT_TIMEOUT_MS, Self.milliseconds(timeout))
                taskshim_curl_setopt_long(rawHandle, CURLOPT_SSL_VERIFYPEER, 1)
                taskshim_curl_setopt_long(rawHandle, CURLOPT_SSL_VERIFYHOST, 2)
                taskshim_curl_setopt_long(rawHandle, CURLOPT_FOLLOWLOCATION, 0)
                taskshim_curl_setopt_long(rawHandle, CURLOPT_PROTOCOLS, Int(CURLPROTO_HTTP | CURLPROTO_HTTPS))
                taskshim_curl_setopt_long(rawHandle, CURLOPT_TCP_NODELAY, 1)
                taskshim_curl_setopt_string(rawHandle, CURLOPT_USERAGENT, options.userAgent)
                taskshim_curl_setopt_string(rawHandle, CURLOPT_ACCEPT_ENCODING, "")
                if let caFile = options.caFile { taskshim_curl_setopt_string(rawHandle, CURLOPT_CAINFO, caFile) }
                if let signature = request.awsSignature {
                    taskshim_curl_setopt_string(rawHandle, CURLOPT_AWS_SIGV4, signature.curlProvider)
                    taskshim_curl_setopt_string(rawHandle, CURLOPT_USERNAME, signature.accessKeyID)
                    taskshim_curl_setopt_string(rawHandle, CURLOPT_PASSWORD, signature.secretAccessKey)
                }
                taskshim_curl_setopt_pointer(rawHandle, CURLOPT_ERRORBUFFER, errorPointer.baseAddress)
                taskshim_curl_setopt_slist(rawHandle, CURLOPT_HTTPHEADER, headerList)
                taskshim_curl_setopt_write(rawHandle, CURLOPT_WRITEFUNCTION, curlWriteBody)
                taskshim_curl_setopt_pointer(rawHandle, CURLOPT_WRITEDATA, context)
                taskshim_curl_setopt_write(rawHandle, CURLOPT_HEADERFUNCTION, curlWriteHeader)
                taskshim_curl_setopt_pointer(rawHandle, CURLOPT_HEADERDATA, context)
                taskshim_curl_setopt_sockopt(rawHandle, CURLOPT_SOCKOPTFUNCTION, curlSocketOpened)
                taskshim_curl_setopt_pointer(rawHandle, CURLOPT_SOCKOPTDATA, context)
                taskshim_curl_setopt_long(rawHandle, CURLOPT_NOPROGRESS, 0)
                taskshim_curl_setopt_xferinfo(rawHandle, CURLOPT_XFERINFOFUNCTION, curlProgress)
                taskshim_curl_setopt_pointer(rawHandle, CURLOPT_XFERINFODATA, context)
                switch request.method.uppercased() {
                case "GET": taskshim_curl_setopt_long(rawHandle, CURLOPT_HTTPGET, 1)
                case "HEAD": taskshim_curl_setopt_long(rawHandle, CURLOPT_NOBODY, 1)
                default:
                    if request.method.uppercased() != "POST" {
                        taskshim_curl_setopt_string(rawHandle, CURLOPT_CUSTOMREQUEST, request.method.uppercased())
                    }
                    taskshim_curl_setopt_off(rawHandle, CURLOPT_POSTFIELDSIZE_LARGE, curl_off_t(request.body.count))
                }
                if !["GET", "HEAD"].contains(request.method.uppercased()) {
                    return request.body.withUnsafeBytes { bytes in
                        // COPYPOSTFIELDS: libcurl keeps its own copy, so the buffer may go away.
                        let base = bytes.baseAddress ?? UnsafeRawPointer(("" as StaticString).utf8Start)
                        taskshim_curl_setopt_pointer(rawHandle, CURLOPT_COPYPOSTFIELDS, UnsafeMutableRawPointer(mutating: base))
                        return curl_easy_perform(rawHandle)
                    }
                }
                return curl_easy_perform(rawHandle)
            }
        }
        // The handle must not keep pointers to our buffers beyond this call.
        taskshim_curl_setopt_pointer(rawHandle, CURLOPT_ERRORBUFFER, nil)
        taskshim_curl_setopt_slist(rawHandle, CURLOPT_HTTPHEADER, nil)

        guard result == CURLE_OK else {
            let buffered = String(decoding: errorBuffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
            let detail = buffered.isEmpty ? String(cString: curl_easy_strerror(result)) : buffered
            throw Self.error(for: result, detail: detail, host: Self.host(of: request.url), sink: sink)
        }
        var status = 0
        taskshim_curl_getinfo_long(rawHandle, CURLINFO_RESPONSE_CODE, &status)
        return HTTPResponse(status: status, headers: sink.headers, body: Data(sink.body))
    }

    static func error(for code: CURLcode, detail: String, host: String, sink: ResponseSink) -> TaskShimError {
        switch code {
        case CURLE_ABORTED_BY_CALLBACK:
            return .temporary("The request to \(host) was cancelled before it finished.")
        case CURLE_WRITE_ERROR where sink.overflowed:
            return TaskShimError(.protocolError, "The response from \(host) is larger than \(sink.limit) bytes.")
        case CURLE_URL_MALFORMAT, CURLE_UNSUPPORTED_PROTOCOL:
            return .configuration("'\(host)' is not a valid http(s) URL: \(detail).")
        case CURLE_PEER_FAILED_VERIFICATION, CURLE_SSL_CACERT_BADFILE, CURLE_SSL_CERTPROBLEM:
            return TaskShimError(.unavailable, "TLS verification of \(host) failed: \(detail).",
                                 hint: "The certificate is not trusted for this host name. Set TASKSHIM_CA_FILE to a CA bundle that trusts it; verification stays on.")
        case CURLE_OPERATION_TIMEDOUT:
            return .temporary("The request to \(host) timed out: \(detail).", hint: "The run can be retried.")
        default:
            return .temporary("The request to \(host) failed: \(detail).", hint: "Check that the endpoint is reachable; the run can be retried.")
        }
    }

    /// `scheme://host:port` of a URL, with no user, path or query (which may carry secrets).
    public static func host(of url: String) -> String {
        guard let components = URLComponents(string: url), let host = components.host else { return "the endpoint" }
        let port = components.port.map { ":\($0)" } ?? ""
        return "\(components.scheme ?? "http")://\(host)\(port)"
    }

    /// Whole milliseconds of a duration.
    public static func milliseconds(_ duration: Duration) -> Int {
        let (seconds, attoseconds) = duration.components
        return Int(seconds) * 1000 + Int(attoseconds / 1_000_000_000_000_000)
    }
}

/// Collects a response while libcurl delivers it. `cancelled` is set from another thread.
final class ResponseSink: Sendable {
    let limit: Int
    let cancelled = Atomic<Bool>(false)
    // Touched only by libcurl's callbacks on the client's queue.
    nonisolated(unsafe) var body: [UInt8] = []
    nonisolated(unsafe) var headers: [(String, String)] = []
    nonisolated(unsafe) var overflowed = false
    /// The socket the response arrives on, to acknowledge its headers at once.
    nonisolated(unsafe) var socket: Int32 = -1

    init(limit: Int) { self.limit = limit }
}

private let curlWriteBody: @convention(c) (UnsafeMutablePointer<CChar>?, Int, Int, UnsafeMutableRawPointer?) -> Int = { data, size, count, context in
    guard let data, let context else { return 0 }
    let sink = Unmanaged<ResponseSink>.fromOpaque(context).takeUnretainedValue()
    let length = size * count
    if sink.body.count + length > sink.limit {
        sink.overflowed = true
        return 0  // makes libcurl stop with CURLE_WRITE_ERROR
    }
    data.withMemoryRebound(to: UInt8.self, capacity: length) { sink.body.append(contentsOf: UnsafeBufferPointer(start: $0, count: length)) }
    return length
}

private let curlWriteHeader: @convention(c) (UnsafeMutablePointer<CChar>?, Int, Int, UnsafeMutableRawPointer?) -> Int = { data, size, count, context in
    guard let data, let context else { return 0 }
    let sink = Unmanaged<ResponseSink>.fromOpaque(context).takeUnretainedValue()
    let length = size * count
    let line = UnsafeRawBufferPointer(start: data, count: length)
    func isSpace(_ byte: UInt8) -> Bool { byte == 0x20 || byte == 0x09 || byte == 0x0D || byte == 0x0A }
    if line.allSatisfy(isSpace) {
        // The blank line ending the headers: acknowledge them now, so a server with Nagle's algorithm
        // on sends the body without waiting for our delayed ACK.
        if sink.socket >= 0 { taskshim_tcp_quickack(sink.socket) }
    } else if line.starts(with: "HTTP/".utf8) {
        sink.headers.removeAll()  // a new response (after a redirect or 100 Continue) starts over
    } else if let colon = line.firstIndex(of: UInt8(ascii: ":")) {
        let name = String(decoding: line[..<colon].lazy.map { $0 >= 0x41 && $0 <= 0x5A ? $0 + 0x20 : $0 }, as: UTF8.self)
        var start = colon + 1
        var end = length
        while start < end && isSpace(line[start]) { start += 1 }
        while end > start && isSpace(line[end - 1]) { end -= 1 }
        sink.headers.append((name, String(decoding: line[start..<end], as: UTF8.self)))
    }
    return length
}

private let curlSocketOpened: @convention(c) (UnsafeMutableRawPointer?, curl_socket_t, curlsocktype) -> Int32 = { context, socket, _ in
    if let context { Unmanaged<ResponseSink>.fromOpaque(context).takeUnretainedValue().socket = socket }
    return Int32(CURL_SOCKOPT_OK)
}

/// Aborts the transfer (CURLE_ABORTED_BY_CALLBACK) once the waiting task was cancelled.
private let curlProgress: @convention(c) (UnsafeMutableRawPointer?, curl_off_t, curl_off_t, curl_off_t, curl_off_t) -> Int32 = { context, _, _, _, _ in
    guard let context else { return 0 }
    return Unmanaged<ResponseSink>.fromOpaque(context).takeUnretainedValue().cancelled.load(ordering: .relaxed) ? 1 : 0
}
