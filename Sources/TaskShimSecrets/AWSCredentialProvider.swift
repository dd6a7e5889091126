import FoundationEssentials
import TaskShimClients
import TaskShimCore

/// AWS credentials found the way the AWS SDKs look, in their order:
///
/// 1. the environment (`AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, `AWS_SESSION_TOKEN`: Lambda sets them);
/// 2. web identity (`AWS_WEB_IDENTITY_TOKEN_FILE` and `AWS_ROLE_ARN`: EKS IRSA), exchanged with STS
///    `AssumeRoleWithWebIdentity`;
/// 3. the shared credentials file (`AWS_SHARED_CREDENTIALS_FILE`, else `~/.aws/credentials`; profile
///    `AWS_PROFILE`, else `default`);
/// 4. the container credentials endpoint (ECS: `AWS_CONTAINER_CREDENTIALS_RELATIVE_URI` on 169.254.170.2;
///    EKS Pod Identity: `AWS_CONTAINER_CREDENTIALS_FULL_URI` with `AWS_CONTAINER_AUTHORIZATION_TOKEN` or
///    `AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE`);
/// 5. EC2 instance metadata, IMDSv2 only (`AWS_EC2_METADATA_SERVICE_ENDPOINT`; off with
///    `AWS_EC2_METADATA_DISABLED=true`).
///
/// ``CredentialCache`` keeps temporary credentials until five minutes before they expire, and drops
/// them when a service refuses them.
enum AWSCredentialProvider {
    static func cache(_ environment: Environment) -> CredentialCache<AWSCredentials> {
        CredentialCache(environment: environment, load: load)
    }

    static func load(_ environment: Environment, for purpose: String) async throws(TaskShimError) -> AWSCredentials {
        if let key = environment["AWS_ACCESS_KEY_ID"], let secret = environment["AWS_SECRET_ACCESS_KEY"] {
            return AWSCredentials(accessKeyID: key, secretAccessKey: secret, sessionToken: environment["AWS_SESSION_TOKEN"], source: "the environment")
        }
        if let tokenFile = environment["AWS_WEB_IDENTITY_TOKEN_FILE"], let role = environment["AWS_ROLE_ARN"] {
            return try await fromWebIdentity(tokenFile: tokenFile, role: role, environment, for: purpose)
        }
        if let credentials = try fromSharedFile(environment, for: purpose) {
            return credentials
        }
        if let relative = environment["AWS_CONTAINER_CREDENTIALS_RELATIVE_URI"] {
            return try await fromContainerEndpoint("http://169.254.170.2" + relative, token: nil, environment, for: purpose)
        }
        if let full = environment["AWS_CONTAINER_CREDENTIALS_FULL_URI"] {
            guard allowedContainerEndpoint(full) else {
                throw .configuration("\(purpose), but AWS_CONTAINER_CREDENTIALS_FULL_URI=\(full) is neither https nor a local address.",
                                     hint: "The token is only sent over http to loopback, 169.254.170.2, 169.254.170.23 or fd00:ec2::23, as the AWS SDKs allow.")
            }
            var token = environment["AWS_CONTAINER_AUTHORIZATION_TOKEN"]
            if let path = environment["AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE"] {
                token = try readText(path, "the container credentials token file", for: purpose)
            }
            return try await fromContainerEndpoint(full, token: token, environment, for: purpose)
        }
        if environment["AWS_EC2_METADATA_DISABLED"]?.lowercased() != "true",
           let credentials = try await fromInstanceMetadata(environment, for: purpose) {
            return credentials
        }
        throw .configuration("\(purpose), but no AWS credentials were found.",
                             hint: "Set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (Lambda does), AWS_WEB_IDENTITY_TOKEN_FILE and AWS_ROLE_ARN (EKS IRSA) or AWS_PROFILE, or run where the container credentials endpoint or EC2 instance metadata is.")
    }

    /// The hosts the AWS SDKs send the container authorization token to over plain http.
    static func allowedContainerEndpoint(_ url: String) -> Bool {
        let lower = url.lowercased()
        if lower.hasPrefix("https://") { return true }
        guard lower.hasPrefix("http://") else { return false }
        var host = String(lower.dropFirst(7).prefix { $0 != "/" })
        if host.hasPrefix("[") {
            host = String(host.dropFirst().prefix { $0 != "]" })
        } else if let colon = host.lastIndex(of: ":") {
            host = String(host[..<colon])
        }
        let parts = host.split(separator: ".", omittingEmptySubsequences: false)
        let loopbackIPv4 = parts.count == 4 && parts[0] == "127" && parts.allSatisfy { UInt8($0) != nil }
        return loopbackIPv4 || host == "localhost" || host == "::1" || ["169.254.170.2", "169.254.170.23", "fd00:ec2::23"].contains(host)
    }

    private static func readText(_ path: String, _ what: String, for purpose: String) throws(TaskShimError) -> String {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw .configuration("\(purpose), and \(what) \(path) cannot be read.")
        }
        return String(decoding: data, as: UTF8.self).trimmed
    }

    /// STS `AssumeRoleWithWebIdentity`: an unsigned call, the token being the proof.
    private static func fromWebIdentity(tokenFile: String, role: String, _ environment: Environment,
                                        for purpose: String) async throws(TaskShimError) -> AWSCredentials {
        let token = try readText(tokenFile, "the web identity token file", for: purpose)
        let region = environment["AWS_REGION"] ?? environment["AWS_DEFAULT_REGION"]
        let endpoint = environment["AWS_ENDPOINT_URL_STS"] ?? environment["AWS_ENDPOINT_URL"]
            ?? region.map { "https://sts.\($0).amazonaws.com" } ?? "https://sts.amazonaws.com"
        let session = environment["AWS_ROLE_SESSION_NAME"] ?? "taskshim-\(Int(Date().timeIntervalSince1970))"
        let body = CloudHTTP.form([("Action", "AssumeRoleWithWebIdentity"), ("Version", "2011-06-15"), ("RoleArn", role),
                                   ("RoleSessionName", session), ("WebIdentityToken", token)])
        let response = try await CloudHTTP.send(HTTPRequest(method: "POST", url: endpoint.hasSuffix("/") ? endpoint : endpoint + "/",
                                                            headers: [("Content-Type", "application/x-www-form-urlencoded")], body: Data(body.utf8)),
                                                "\(purpose), and STS (\(endpoint))", environment: environment)
        let text = String(decoding: response.body, as: UTF8.self)
        guard response.status == 200, let key = CloudHTTP.xmlValue("AccessKeyId", in: text),
              let secret = CloudHTTP.xmlValue("SecretAccessKey", in: text) else {
            let code = CloudHTTP.xmlValue("Code", in: text) ?? ""
            let what = "\(purpose), and STS refused AssumeRoleWithWebIdentity for \(role) (\(response.status) \(code): \(CloudHTTP.xmlValue("Message", in: text) ?? ""))."
            if response.status >= 500 || code == "IDPCommunicationError" || code == "Throttling" { throw .temporary(what) }
            throw TaskShimError(.noPermission, what, hint: "Check the role's trust policy names this cluster's OIDC provider and service account.")
        }
        return AWSCredentials(accessKeyID: key, secretAccessKey: secret, sessionToken: CloudHTTP.xmlValue("SessionToken", in: text),
                              expiration: CloudHTTP.xmlValue("Expiration", in: text).flatMap(Timestamp.parse), source: "web identity")
    }

    /// The profile's static keys in the shared credentials file, nil when there is no such file or profile.
    private static func fromSharedFile(_ environment: Environment, for purpose: String) throws(TaskShimError) -> AWSCredentials? {
        let explicit = environment["AWS_SHARED_CREDENTIALS_FILE"]
        guard let path = explicit ?? environment["HOME"].map({ $0 + "/.aws/credentials" }),
              let data = FileManager.default.contents(atPath: path) else {
            if let explicit { throw .configuration("\(purpose), and AWS_SHARED_CREDENTIALS_FILE=\(explicit) cannot be read.") }
            return nil
        }
        let profile = environment["AWS_PROFILE"] ?? environment["AWS_DEFAULT_PROFILE"] ?? "default"
        var section = ""
        var values: [String: String] = [:]
        for line in String(decoding: data, as: UTF8.self).split(whereSeparator: \.isNewline) {
            let text = line.trimmed
            if text.hasPrefix("#") || text.hasPrefix(";") || text.isEmpty { continue }
            if text.hasPrefix("["), text.hasSuffix("]") {
                section = String(text.dropFirst().dropLast()).trimmed
                continue
            }
            guard section == profile, let equals = text.firstIndex(of: "=") else { continue }
            values[String(text[..<equals]).trimmed.lowercased()] = String(text[text.index(after: equals)...]).trimmed
        }
        guard let key = values["aws_access_key_id"], let secret = values["aws_secret_access_key"] else {
            if environment["AWS_PROFILE"] != nil {
                throw .configuration("\(purpose), and the profile \(profile) has no aws_access_key_id and aws_secret_access_key in \(path).",
                                     hint: "Only static keys are read from the credentials file.")
            }
            return nil
        }
        return AWSCredentials(accessKeyID: key, secretAccessKey: secret, sessionToken: values["aws_session_token"], source: "the profile \(profile)")
    }

    private static func fromContainerEndpoint(_ url: String, token: String?, _ environment: Environment,
                                              for purpose: String) async throws(TaskShimError) -> AWSCredentials {
        let response = try await CloudHTTP.send(HTTPRequest(url: url, headers: token.map { [("Authorization", $0)] } ?? []),
                                                "\(purpose), and the container credentials endpoint \(url)", environment: environment,
                                                connectTimeout: .seconds(2), requestTimeout: .seconds(5))
        guard response.status == 200, let credentials = AWSCredentials(json: response.body, source: "the container credentials endpoint") else {
            let status = response.status
            throw status == 401 || status == 403
                ? TaskShimError(.noPermission, "\(purpose), and the container credentials endpoint refused the request (\(status)).",
                                hint: "Check AWS_CONTAINER_AUTHORIZATION_TOKEN(_FILE).")
                : .temporary("\(purpose), and the container credentials endpoint answered \(status) without credentials.")
        }
        return credentials
    }

    /// IMDSv2: a session token from `PUT /latest/api/token`, then the instance role's name and its
    /// credentials. nil when nothing answers (not on EC2), so the chain ends with its own message.
    private static func fromInstanceMetadata(_ environment: Environment, for purpose: String) async throws(TaskShimError) -> AWSCredentials? {
        var base = environment["AWS_EC2_METADATA_SERVICE_ENDPOINT"] ?? "http://169.254.169.254"
        while base.hasSuffix("/") { base.removeLast() }
        let what = "\(purpose), and EC2 instance metadata (\(base))"
        func get(_ request: HTTPRequest) async throws(TaskShimError) -> HTTPResponse {
            try await CloudHTTP.send(request, what, environment: environment, connectTimeout: .seconds(1), requestTimeout: .seconds(2))
        }
        // Off EC2 nothing answers, or another cloud's metadata server does: then this source has nothing.
        let configured = environment["AWS_EC2_METADATA_SERVICE_ENDPOINT"] != nil
        let session: HTTPResponse
        do {
            session = try await get(HTTPRequest(method: "PUT", url: base + "/latest/api/token", headers: [("X-aws-ec2-metadata-token-ttl-seconds", "21600")]))
        } catch where CloudHTTP.isUnreachable(error) && !configured {
            return nil
        }
        guard session.status == 200 else {
            guard configured else { return nil }
            throw .temporary("\(what) gave no session token (\(session.status)).", hint: "IMDSv2 must be enabled, with a hop limit of 2 inside containers.")
        }
        let header = [("X-aws-ec2-metadata-token", String(decoding: session.body, as: UTF8.self).trimmed)]
        let roles = try await get(HTTPRequest(url: base + "/latest/meta-data/iam/security-credentials/", headers: header))
        guard roles.status == 200, let role = String(decoding: roles.body, as: UTF8.self).split(whereSeparator: \.isNewline).first.map(String.init) else {
            throw .configuration("\(what) names no instance role (\(roles.status)).", hint: "Attach an instance profile with a role to the instance.")
        }
        let answer = try await get(HTTPRequest(url: base + "/latest/meta-data/iam/security-credentials/" + role, headers: header))
        guard answer.status == 200, let credentials = AWSCredentials(json: answer.body, source: "EC2 instance metadata") else {
            throw .temporary("\(what) answered \(answer.status) without credentials for the role \(role).")
        }
        return credentials
    }
}
