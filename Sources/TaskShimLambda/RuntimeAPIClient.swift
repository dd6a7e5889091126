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

/// The Lambda Runtime API over libcurl: one handle, so one kept-alive connection to the API for the
/// life of the process.
public final class RuntimeAPIClient: Sendable {
    /// Lambda's limit for a synchronous response.
    public static let maxResponseBytes = 6 * 1024 * 1024

    private let base: String
    private let http: HTTPClient

    /// `api` is `AWS_LAMBDA_RUNTIME_API`: `host:port` as Lambda sets it, or a URL with a path prefix
    /// (`http://127.0.0.1:9001/.rt`, as some emulators print it).
    public init(api: String) {
        var base = api.contains("://") ? api : "http://" + api
        while base.hasSuffix("/") { base.removeLast() }
        self.base = base + "/2018-06-01/runtime"
        // `next` is a long poll: no request timeout. Payloads are at most 6 MB (sync) or 256 KB (async);
        // leave room for the response headers.
        self.http = HTTPClient(options: .init(connectTimeout: .seconds(5), requestTimeout: .zero, maxResponseBytes: 8 << 20))
    }

    /// The thread the client's requests run on, as a task executor: the Lambda loop runs there, so a
    /// request costs no thread hop.
    public var executor: any TaskExecutor { http.executor }

    /// Waits for the next event.
    public func next() async throws -> LambdaNextEvent {
        let response = try await http.send(HTTPRequest(url: base + "/invocation/next"))
        guard response.status == 200, let requestID = response.header("Lambda-Runtime-Aws-Request-Id"), !requestID.isEmpty else {
            throw TaskShimError(.protocolError, "The Lambda Runtime API answered next with \(response.status) and no request id.")
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
        let request = HTTPRequest(method: "POST", url: base + "/invocation/\(requestID)/response", headers: [
            ("Content-Type", "application/octet-stream"),
            ("Lambda-Runtime-Function-Response-Mode", "streaming"),
            ("Transfer-Encoding", "chunked"),
            ("Trailer", "Lambda-Runtime-Function-Error-Type, Lambda-Runtime-Function-Error-Body"),
        ])
        let http = http
        async let answer = http.send(request, streaming: body)
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
        let response = try await http.send(HTTPRequest(method: "POST", url: base + path,
                                                       headers: [("Content-Type", "application/json")] + headers, body: body))
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
        body.write(bytes)
    }
}
