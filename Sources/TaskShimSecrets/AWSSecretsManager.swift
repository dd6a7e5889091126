import FoundationEssentials
import TaskShimClients
import TaskShimCore

/// AWS Secrets Manager's `GetSecretValue`, signed with SigV4 by libcurl: no SDK. Credentials from
/// ``AWSCredentials``; the region from `AWS_REGION` (or `AWS_DEFAULT_REGION`, or the ARN); the endpoint from
/// `AWS_ENDPOINT_URL_SECRETS_MANAGER` or `AWS_ENDPOINT_URL` when set (as the AWS SDKs read them).
struct AWSSecretsManager {
    let environment: Environment

    func secretString(_ secretID: String, for name: String) async throws(TaskShimError) -> String {
        let credentials = try await AWSCredentials.resolve(environment, for: "\(name) refers to aws-sm://\(secretID)")
        let (accessKey, secretKey) = (credentials.accessKeyID, credentials.secretAccessKey)
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
                                  awsSignature: AWSSignature(region: region, service: "secretsmanager", accessKeyID: accessKey, secretAccessKey: secretKey))
        let response: HTTPResponse
        do {
            response = try await HTTPClient(options: .init(connectTimeout: .seconds(3), requestTimeout: .seconds(10),
                                                           caFile: environment["TASKSHIM_CA_FILE"])).send(request)
        } catch {
            throw .wrapping(error)
        }
        let answer = JSONValue.parse(response.body)?.object
        guard response.status == 200 else {
            // The error type, e.g. "com.amazonaws...#ResourceNotFoundException" or "ResourceNotFoundException".
            let type = (answer?["__type"]?.string ?? "").split(separator: "#").last.map(String.init) ?? ""
            let message = answer?["message"]?.string ?? answer?["Message"]?.string ?? ""
            let what = "\(name) refers to aws-sm://\(secretID), and Secrets Manager answered \(response.status) \(type): \(message)"
            switch type {
            case "ResourceNotFoundException":
                throw .configuration(what, hint: "Check the secret's name or ARN and the region (\(region)).")
            case "AccessDeniedException", "UnrecognizedClientException", "InvalidSignatureException", "ExpiredTokenException":
                throw TaskShimError(.noPermission, what, hint: "Check the credentials and that the role may call secretsmanager:GetSecretValue on it.")
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
