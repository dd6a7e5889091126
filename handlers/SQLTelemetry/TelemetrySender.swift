import FoundationEssentials
import Logging
import TaskShimCore
import TaskShimClients

/// POSTs batches of records as `{"records":[...]}`, retrying what may succeed later, through the
/// endpoint host's circuit breaker and retry budget.
public struct TelemetrySender: Sendable {
    let client: HTTPClient
    let endpoint: String
    /// Sent verbatim as the `Authorization` header; replaced when a refused key was rotated.
    var apiKey: String?
    let policy: RetryPolicy
    let deadline: Date?
    let logger: Logger
    let dependencies: Dependencies

    public init(client: HTTPClient, endpoint: String, apiKey: String?, policy: RetryPolicy, deadline: Date?, logger: Logger,
                dependencies: Dependencies = Dependencies()) {
        self.client = client
        self.endpoint = endpoint
        self.apiKey = apiKey
        self.policy = policy
        self.deadline = deadline
        self.logger = logger
        self.dependencies = dependencies
    }

    /// The request body for a batch.
    public static func body(for records: [TelemetryRecord]) -> Data {
        var text = "{\"records\":["
        for (index, record) in records.enumerated() {
            if index > 0 { text.append(",") }
            text.append(record.json)
        }
        text.append("]}")
        return Data(text.utf8)
    }

    /// Sends one batch. `idempotencyKey` is the same on every retry of the batch, so an endpoint that
    /// honours `Idempotency-Key` stores it once.
    public func send(_ records: [TelemetryRecord], idempotencyKey: String) async throws {
        var headers = [("Content-Type", "application/json"), ("Idempotency-Key", idempotencyKey)]
        if let apiKey { headers.append(("Authorization", apiKey)) }
        let request = HTTPRequest(method: "POST", url: endpoint, headers: headers, body: Self.body(for: records))
        let host = HTTPClient.host(of: endpoint)
        let logger = logger
        let count = records.count
        try await policy.run(deadline: deadline, budget: dependencies.budget(for: host), breaker: dependencies.breaker(for: host),
                             shouldRetry: { ($0 as? TaskShimError)?.isRetryable ?? false },
                             retryAfter: { ($0 as? TaskShimError)?.retryAfter },
                             onRetry: { attempt, delay, error in
                                 logger.warning("telemetry POST failed; retrying", metadata: [
                                     "http_attempt": .stringConvertible(attempt), "records": .stringConvertible(count),
                                     "retry_in_ms": .stringConvertible(HTTPClient.milliseconds(delay)),
                                     "error": .string(String(describing: error)),
                                 ])
                             }) { _ in
            let response = try await client.send(request)
            try Self.check(response, host: host)
        }
    }

    /// Maps a response to success or an error with the exit code its status implies.
    static func check(_ response: HTTPResponse, host: String) throws(TaskShimError) {
        switch response.status {
        case 200..<300:
            return
        case 408, 425, 429, 500..<600:
            var error = TaskShimError.temporary("The telemetry endpoint \(host) answered \(response.status)\(snippet(response)).",
                                                hint: "The endpoint is overloaded or down; the run can be retried.")
            error.retryAfter = response.retryAfter()
            throw error
        case 401, 403:
            throw TaskShimError(.noPermission, "The telemetry endpoint \(host) answered \(response.status)\(snippet(response)).",
                                hint: "Check the API key in TELEMETRY_API_KEY.")
        default:
            throw TaskShimError(.unavailable, "The telemetry endpoint \(host) rejected a batch with \(response.status)\(snippet(response)).",
                                hint: "Retrying will not help: check TELEMETRY_URL and the records (try --dry-run).")
        }
    }

    private static func snippet(_ response: HTTPResponse) -> String {
        let text = String(decoding: response.body.prefix(200), as: UTF8.self)
            .replacing("\n", with: " ").trimmed
        return text.isEmpty ? "" : ": \(text)"
    }
}
