import FoundationEssentials
import TaskShimClients
import TaskShimCore

/// One event handed out by `GET /2018-06-01/runtime/invocation/next`, with every header Lambda sends.
public struct LambdaNextEvent: Sendable {
    public var requestID: String
    /// `Lambda-Runtime-Deadline-Ms`: milliseconds since the epoch when the function times out.
    public var deadlineMilliseconds: Int64?
    public var invokedFunctionARN: String?
    /// `Lambda-Runtime-Trace-Id`: the X-Ray header (`Root=...;Parent=...;Sampled=1`).
    public var traceID: String?
    public var clientContext: String?
    public var cognitoIdentity: String?
    public var body: Data
}

/// The error document Lambda takes on `/invocation/{id}/error` and `/init/error`.
public struct LambdaErrorBody: Sendable, Equatable {
    public var errorType: String
    public var errorMessage: String

    public init(errorType: String, errorMessage: String) {
        self.errorType = errorType
        self.errorMessage = errorMessage
    }

    /// `TaskShim.TemporaryFailure`, `TaskShim.DataError`, ... from the error's exit status.
    public init(_ error: TaskShimError) {
        let pascal = error.status.name.split(separator: "_").map { $0.prefix(1).uppercased() + $0.dropFirst() }.joined()
        self.init(errorType: "TaskShim.\(pascal)", errorMessage: error.description)
    }

    var json: Data {
        var line = JSONLine()
        line.add("errorMessage", errorMessage)
        line.add("errorType", errorType)
        line.add("stackTrace", rawJSON: "[]")
        return Data(line.string.utf8)
    }
}

/// The Lambda Runtime API over one kept-alive connection. The API is plain HTTP on the same host,
/// so the client is a small HTTP/1.1 one of our own rather than libcurl: loading libcurl and the
/// libraries it depends on would cost every cold start about 5 ms.
public final class RuntimeAPIClient: Sendable {
    /// Lambda's limit for a synchronous response.
    public static let maxResponseBytes = 6 * 1024 * 1024

    private let prefix: String
    private let connection: LocalHTTPConnection

    /// `api` is `AWS_LAMBDA_RUNTIME_API`: `host:port` as Lambda sets it, or a URL with a path prefix
    /// (`http://127.0.0.1:9001/.rt`, as some emulators print it).
    public init(api: String) throws(TaskShimError) {
        let endpoint = try Self.parse(api)
        prefix = endpoint.prefix + "/2018-06-01/runtime"
        // Payloads are at most 6 MB (sync) or 256 KB (async); leave room for the headers.
        connection = LocalHTTPConnection(host: endpoint.host, port: endpoint.port, maxResponseBytes: 8 << 20)
    }

    /// Host, port and path prefix of `AWS_LAMBDA_RUNTIME_API`.
    static func parse(_ api: String) throws(TaskShimError) -> (host: String, port: Int, prefix: String) {
        var rest = Substring(api.trimmed)
        if rest.lowercased().hasPrefix("http://") { rest = rest.dropFirst(7) }
        guard !rest.contains("://") else {
            throw TaskShimError.configuration("AWS_LAMBDA_RUNTIME_API=\(api) is not host:port or an http:// URL.",
                                              hint: "Lambda sets it to host:port; the Runtime API is plain HTTP.")
        }
        let authority = rest.prefix { $0 != "/" }
        var prefix = String(rest.dropFirst(authority.count))
        while prefix.hasSuffix("/") { prefix.removeLast() }
        var host = Substring(authority)
        var port = 80
        if let colon = authority.lastIndex(of: ":"), !authority[colon...].contains("]") {
            guard let number = Int(authority[authority.index(after: colon)...]), (1...65535).contains(number) else {
                throw TaskShimError.configuration("AWS_LAMBDA_RUNTIME_API=\(api) has no valid port.",
                                                  hint: "Lambda sets it to host:port, such as 127.0.0.1:9001.")
            }
            port = number
            host = authority[..<colon]
        }
        if host.hasPrefix("[") && host.hasSuffix("]") {
            host = host.dropFirst().dropLast()
        } else if host.contains(":") || host.contains("[") || host.contains("]") {
            throw TaskShimError.configuration("AWS_LAMBDA_RUNTIME_API=\(api) is not host:port.",
                                              hint: "Write an IPv6 address in brackets: [::1]:9001.")
        }
        guard !host.isEmpty else {
            throw TaskShimError.configuration("AWS_LAMBDA_RUNTIME_API=\(api) names no host.",
                                              hint: "Lambda sets it to host:port, such as 127.0.0.1:9001.")
        }
        return (String(host), port, prefix)
    }

    /// The thread the client's requests run on, as a task executor: the Lambda loop runs there, so a
    /// request costs no thread hop.
    public var executor: any TaskExecutor { connection.executor }

    /// Waits for the next event.
    public func next() async throws -> LambdaNextEvent {
        let response = try await connection.send(method: "GET", path: prefix + "/invocation/next")
        guard response.status == 200, let requestID = response.header("Lambda-Runtime-Aws-Request-Id"), !requestID.isEmpty else {
            throw TaskShimError(.protocolError, "The Lambda Runtime API answered next with \(response.status) and no request id.")
        }
        // The id goes into the paths of the answer: nothing but what request ids are made of.
        guard requestID.utf8.allSatisfy({ $0 == 0x2D || $0 == 0x5F || (0x30...0x39).contains($0) || (0x41...0x5A).contains($0) || (0x61...0x7A).contains($0) }) else {
            throw TaskShimError(.protocolError, "The Lambda Runtime API sent a request id that is not letters, digits and dashes: '\(requestID.prefix(80))'.")
        }
        return LambdaNextEvent(
            requestID: requestID,
            deadlineMilliseconds: response.header("Lambda-Runtime-Deadline-Ms").flatMap { Int64($0) },
            invokedFunctionARN: response.header("Lambda-Runtime-Invoked-Function-Arn"),
            traceID: response.header("Lambda-Runtime-Trace-Id"),
            clientContext: response.header("Lambda-Runtime-Client-Context"),
            cognitoIdentity: response.header("Lambda-Runtime-Cognito-Identity"),
            body: response.body)
    }

    /// Posts the handler's response for `requestID`.
    public func respond(_ requestID: String, body: Data) async throws {
        try await post("/invocation/\(requestID)/response", body: body, headers: [])
    }

    /// Streams the response for `requestID` (`Lambda-Runtime-Function-Response-Mode: streaming`, chunked).
    /// `produce` writes the parts as they come; an error it returns is sent in the trailers
    /// `Lambda-Runtime-Function-Error-Type` and `-Error-Body` (base64 JSON), after what was streamed.
    public func respondStreaming(_ requestID: String,
                                 produce: @Sendable (any ResponseWriter) async -> LambdaErrorBody?) async throws {
        let body = StreamingBody()
        let headers = [
            ("Content-Type", "application/octet-stream"),
            ("Lambda-Runtime-Function-Response-Mode", "streaming"),
            ("Transfer-Encoding", "chunked"),
            ("Trailer", "Lambda-Runtime-Function-Error-Type, Lambda-Runtime-Function-Error-Body"),
        ]
        let connection = connection
        let path = prefix + "/invocation/\(requestID)/response"
        async let answer = connection.send(method: "POST", path: path, headers: headers, streaming: body)
        // The upload blocks the client's thread while it waits for parts: produce them elsewhere.
        await withTaskExecutorPreference(globalConcurrentExecutor) {
            let failure = await produce(StreamingBodyWriter(body: body))
            body.finish(trailers: failure.map {
                [("Lambda-Runtime-Function-Error-Type", $0.errorType), ("Lambda-Runtime-Function-Error-Body", $0.json.base64EncodedString())]
            } ?? [])
        }
        let response = try await answer
        guard (200..<300).contains(response.status) else {
            throw TaskShimError(response.status >= 500 ? .temporaryFailure : .protocolError,
                                "The Lambda Runtime API answered the streamed response with \(response.status).")
        }
    }

    /// Posts a handler failure for `requestID`.
    public func fail(_ requestID: String, error: LambdaErrorBody) async throws {
        try await post("/invocation/\(requestID)/error", body: error.json,
                       headers: [("Lambda-Runtime-Function-Error-Type", error.errorType)])
    }

    /// Reports a failure before the first event (no handler, bad configuration).
    public func initializationFailed(_ error: LambdaErrorBody) async throws {
        try await post("/init/error", body: error.json, headers: [("Lambda-Runtime-Function-Error-Type", error.errorType)])
    }

    private func post(_ path: String, body: Data, headers: [(String, String)]) async throws {
        let response = try await connection.send(method: "POST", path: prefix + path,
                                                 headers: [("Content-Type", "application/json")] + headers, body: body)
        // Lambda answers 202; emulators 200. 4xx means the id is unknown or the body too large: the
        // invocation is lost either way, and retrying the same post cannot help.
        guard (200..<300).contains(response.status) else {
            let detail = String(decoding: response.body.prefix(300), as: UTF8.self)
            throw TaskShimError(response.status >= 500 ? .temporaryFailure : .protocolError,
                                "The Lambda Runtime API answered \(path) with \(response.status): \(detail)")
        }
    }
}

/// Hands a streaming handler's parts to the request body being sent.
struct StreamingBodyWriter: ResponseWriter {
    let body: StreamingBody

    func write(_ bytes: Data) async throws {
        try await body.write(bytes)
    }
}
