import FoundationEssentials
import TaskShimClients
import TaskShimCore

/// AWS credentials found the way the AWS SDKs look, in their order: the environment
/// (`AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, `AWS_SESSION_TOKEN`: Lambda sets them), then the
/// container credentials endpoint (ECS: `AWS_CONTAINER_CREDENTIALS_RELATIVE_URI` on 169.254.170.2;
/// EKS Pod Identity and others: `AWS_CONTAINER_CREDENTIALS_FULL_URI` with the token in
/// `AWS_CONTAINER_AUTHORIZATION_TOKEN` or the file `AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE`).
struct AWSCredentials: Sendable {
    var accessKeyID: String
    var secretAccessKey: String
    var sessionToken: String?

    /// `purpose` starts the error messages ("DATABASE_URL refers to aws-sm://...").
    static func resolve(_ environment: Environment, for purpose: String) async throws(TaskShimError) -> AWSCredentials {
        if let key = environment["AWS_ACCESS_KEY_ID"], let secret = environment["AWS_SECRET_ACCESS_KEY"] {
            return AWSCredentials(accessKeyID: key, secretAccessKey: secret, sessionToken: environment["AWS_SESSION_TOKEN"])
        }
        if let relative = environment["AWS_CONTAINER_CREDENTIALS_RELATIVE_URI"] {
            return try await fromContainerEndpoint("http://169.254.170.2" + relative, token: nil, for: purpose)
        }
        if let full = environment["AWS_CONTAINER_CREDENTIALS_FULL_URI"] {
            var token = environment["AWS_CONTAINER_AUTHORIZATION_TOKEN"]
            if let path = environment["AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE"] {
                guard let data = FileManager.default.contents(atPath: path) else {
                    throw .configuration("\(purpose), and the container credentials token file \(path) cannot be read.")
                }
                token = String(decoding: data, as: UTF8.self).trimmed
            }
            return try await fromContainerEndpoint(full, token: token, for: purpose)
        }
        throw .configuration("\(purpose), but no AWS credentials were found.",
                             hint: "Set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (Lambda does) or run where the container credentials endpoint is set (ECS, EKS Pod Identity). Web identity and EC2 instance metadata are not read yet.")
    }

    private static func fromContainerEndpoint(_ url: String, token: String?, for purpose: String) async throws(TaskShimError) -> AWSCredentials {
        let response: HTTPResponse
        do {
            response = try await HTTPClient(options: .init(connectTimeout: .seconds(2), requestTimeout: .seconds(5)))
                .send(HTTPRequest(url: url, headers: token.map { [("Authorization", $0)] } ?? []))
        } catch {
            throw .temporary("\(purpose), and the container credentials endpoint \(url) did not answer: \(error).")
        }
        guard response.status == 200, let object = JSONValue.parse(response.body)?.object,
              let key = object["AccessKeyId"]?.string, let secret = object["SecretAccessKey"]?.string else {
            let status = response.status
            throw status == 401 || status == 403
                ? TaskShimError(.noPermission, "\(purpose), and the container credentials endpoint refused the request (\(status)).",
                                hint: "Check AWS_CONTAINER_AUTHORIZATION_TOKEN(_FILE).")
                : .temporary("\(purpose), and the container credentials endpoint answered \(status) without credentials.")
        }
        return AWSCredentials(accessKeyID: key, secretAccessKey: secret, sessionToken: object["Token"]?.string)
    }
}
