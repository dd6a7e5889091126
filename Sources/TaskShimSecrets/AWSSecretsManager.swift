import FoundationEssentials
import TaskShimClients
import TaskShimCore

/// AWS Secrets Manager's `GetSecretValue`, signed with SigV4 by libcurl: no SDK. Credentials from
/// ``AWSCredentialProvider``; the region from `AWS_REGION` (or `AWS_DEFAULT_REGION`, or the ARN); the endpoint from
/// `AWS_ENDPOINT_URL_SECRETS_MANAGER` or `AWS_ENDPOINT_URL` when set (as the AWS SDKs read them).
struct AWSSecretsManager: Sendable {
    let environment: Environment
    let credentials: CredentialCache<AWSCredentials>

    init(environment: Environment) {
        self.environment = environment
        credentials = AWSCredentialProvider.cache(environment)
    }

    func secretString(_ secretID: String, for name: String) async throws(TaskShimError) -> String {
        // Credentials from the environment are configured: fetching them again would give the same.
        try await credentials.using(for: "\(name) refers to aws-sm://\(secretID)", mayChange: { $0.source != "the environment" },
                                    isStale: { !$0.message.contains("AccessDenied") }) { credentials throws(TaskShimError) in
            try await secretString(secretID, for: name, with: credentials)
        }
    }

    private func secretString(_ secretID: String, for name: String, with credentials: AWSCredentials) async throws(TaskShimError) -> String {
        // arn:aws:secretsmanager:REGION:ACCOUNT:secret:NAME
        let arnRegion = secretID.hasPrefix("arn:") ? secretID.split(separator: ":", omittingEmptySubsequences: false).dropFirst(3).first.map(String.init) : nil
        guard let region = environment["AWS_REGION"] ?? environment["AWS_DEFAULT_REGION"] ?? arnRegion else {
            throw .configuration("\(name) refers to aws-sm://\(secretID), but no AWS region is set.", hint: "Set AWS_REGION.")
        }
        let endpoint = environment["AWS_ENDPOINT_URL_SECRETS_MANAGER"] ?? environment["AWS_ENDPOINT_URL"]
            ?? "https://secretsmanager.\(region).amazonaws.com"
        var headers = [("Content-Type", "application/x-amz-json-1.1"), ("X-Amz-Target", "secretsmanager.GetSecretValue")]
        if let token = credentials.sessionToken { headers.append(("X-Amz-Security-Token", token)) }
        var body = JSONLine()
        body.add("SecretId", secretID)
        let request = HTTPRequest(method: "POST", url: endpoint.hasSuffix("/") ? endpoint : endpoint + "/", headers: headers,
                                  body: Data(body.string.utf8),
                                  awsSignature: AWSSignature(region: region, service: "secretsmanager",
                                                             accessKeyID: credentials.accessKeyID, secretAccessKey: credentials.secretAccessKey))
        let response = try await CloudHTTP.send(request, "\(name) refers to aws-sm://\(secretID), and Secrets Manager (\(endpoint))", environment: environment)
        let answer = JSONValue.parse(response.body)?.object
        guard response.status == 200 else {
            // The error type: JSON's "__type" ("com.amazonaws...#ResourceNotFoundException"), or XML's <Code>
            // for errors raised before the service (signature and token checks).
            let text = String(decoding: response.body, as: UTF8.self)
            let type = (answer?["__type"]?.string ?? CloudHTTP.xmlValue("Code", in: text) ?? "").split(separator: "#").last.map(String.init) ?? ""
            let message = answer?["message"]?.string ?? answer?["Message"]?.string ?? CloudHTTP.xmlValue("Message", in: text) ?? ""
            let what = "\(name) refers to aws-sm://\(secretID), and Secrets Manager answered \(response.status) \(type): \(message)"
            switch type {
            case "ResourceNotFoundException":
                throw .configuration(what, hint: "Check the secret's name or ARN and the region (\(region)).")
            case "AccessDeniedException", "AccessDenied", "UnrecognizedClientException", "InvalidClientTokenId", "InvalidSignatureException",
                 "SignatureDoesNotMatch", "ExpiredTokenException", "ExpiredToken":
                throw TaskShimError(.noPermission, what + " (credentials from \(credentials.source))",
                                    hint: "Check the credentials and that the role may call secretsmanager:GetSecretValue on it.")
            case "ThrottlingException", "TooManyRequestsException", "InternalServiceError", "RequestTimeout", "ServiceUnavailable":
                throw .temporary(what)
            default:
                throw response.status >= 500 || response.status == 429 ? .temporary(what) : .configuration(what)
            }
        }
        guard let value = answer?["SecretString"]?.string else {
            throw .configuration("\(name) refers to aws-sm://\(secretID), which holds binary data, not text.", hint: "Store it as a SecretString.")
        }
        return value
    }
}
