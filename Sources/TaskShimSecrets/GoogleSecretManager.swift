import FoundationEssentials
import TaskShimClients
import TaskShimCore

/// Google Secret Manager's `versions.access`: `GET v1/projects/P/secrets/S/versions/V:access` with a
/// bearer token from ``GoogleTokenProvider``, the payload's CRC-32C checked. The endpoint is
/// `https://secretmanager.googleapis.com/`, or `CLOUDSDK_API_ENDPOINT_OVERRIDES_SECRETMANAGER` (gcloud's
/// override) when set.
struct GoogleSecretManager: Sendable {
    let environment: Environment
    let tokens: CredentialCache<AccessToken>

    init(environment: Environment) {
        self.environment = environment
        tokens = GoogleTokenProvider.cache(environment)
    }

    func secretString(_ resource: String, for name: String) async throws(TaskShimError) -> String {
        let purpose = "\(name) refers to gcp-sm://\(resource)"
        // A 401 is about the token (expired, revoked): fetch another; a 403 is a missing permission.
        return try await tokens.using(for: purpose, isStale: { $0.message.contains(CloudHTTP.unauthorized) }) { token throws(TaskShimError) in
            try await secretString(resource, purpose: purpose, token: token)
        }
    }

    private func secretString(_ resource: String, purpose: String, token: AccessToken) async throws(TaskShimError) -> String {
        var base = environment["CLOUDSDK_API_ENDPOINT_OVERRIDES_SECRETMANAGER"] ?? "https://secretmanager.googleapis.com/"
        if !base.hasSuffix("/") { base += "/" }
        let answer = try await CloudHTTP.bearerGet(base + "v1/" + resource + ":access", token: token, service: "Secret Manager (\(base))",
                                                   codeField: "status", purpose: purpose, environment: environment,
                                                   notFound: "Check the project, the secret's name and that the version exists and is enabled.",
                                                   denied: "Grant the service account roles/secretmanager.secretAccessor on the secret.")
        guard let encoded = answer["payload"]?.object?["data"]?.string, let payload = Data(base64Encoded: encoded) else {
            throw .temporary("\(purpose), and Secret Manager's answer has no payload.")
        }
        if let sent = answer["payload"]?.object?["dataCrc32c"]?.string, let expected = UInt64(sent), expected != UInt64(CRC32C.checksum(payload)) {
            throw .temporary("\(purpose), and the payload's CRC-32C does not match the one Secret Manager sent: corrupted on the way.")
        }
        guard let text = String(validating: payload, as: UTF8.self) else {
            throw .configuration("\(purpose), which holds binary data, not UTF-8 text.")
        }
        return text
    }
}
