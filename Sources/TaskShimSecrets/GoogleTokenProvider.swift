import FoundationEssentials
import TaskShimClients
import TaskShimCore

/// Google access tokens found the way Google's client libraries look (Application Default Credentials):
///
/// 1. the key file `GOOGLE_APPLICATION_CREDENTIALS` names: a service account's key (a JWT signed RS256
///    with its private key, exchanged at its `token_uri`) or a user's refresh token;
/// 2. gcloud's file, `~/.config/gcloud/application_default_credentials.json`, when it exists;
/// 3. the metadata server (Cloud Run, Cloud Functions, GKE, Compute Engine): `GCE_METADATA_HOST`, else
///    `metadata.google.internal`.
///
enum GoogleTokenProvider {
    static let scope = "https://www.googleapis.com/auth/cloud-platform"

    static func cache(_ environment: Environment) -> CredentialCache<AccessToken> {
        CredentialCache(environment: environment, load: load)
    }

    static func load(_ environment: Environment, for purpose: String) async throws(TaskShimError) -> AccessToken {
        if let path = environment["GOOGLE_APPLICATION_CREDENTIALS"] {
            guard let data = FileManager.default.contents(atPath: path) else {
                throw .configuration("\(purpose), and GOOGLE_APPLICATION_CREDENTIALS=\(path) cannot be read.")
            }
            return try await fromKeyFile(data, path: path, environment, for: purpose)
        }
        if let home = environment["HOME"], let data = FileManager.default.contents(atPath: home + "/.config/gcloud/application_default_credentials.json") {
            return try await fromKeyFile(data, path: "~/.config/gcloud/application_default_credentials.json", environment, for: purpose)
        }
        return try await fromMetadataServer(environment, for: purpose)
    }

    private static func fromKeyFile(_ data: Data, path: String, _ environment: Environment, for purpose: String) async throws(TaskShimError) -> AccessToken {
        guard let key = JSONValue.parse(data)?.object else {
            throw .configuration("\(purpose), and the credentials file \(path) is not JSON.")
        }
        switch key["type"]?.string {
        case "service_account":
            guard let email = key["client_email"]?.string, let pem = key["private_key"]?.string else {
                throw .configuration("\(purpose), and the service account key \(path) has no client_email or private_key.")
            }
            let tokenURI = key["token_uri"]?.string ?? "https://oauth2.googleapis.com/token"
            let now = Int(Date().timeIntervalSince1970)
            var header = JSONLine()
            header.add("alg", "RS256")
            header.add("typ", "JWT")
            if let id = key["private_key_id"]?.string { header.add("kid", id) }
            var claims = JSONLine()
            claims.add("iss", email)
            claims.add("scope", scope)
            claims.add("aud", tokenURI)
            claims.add("iat", now)
            claims.add("exp", now + 3600)
            let signed = base64URL(Data(header.string.utf8)) + "." + base64URL(Data(claims.string.utf8))
            let signature: Data
            do {
                signature = try RSASignature.sha256(privateKeyPEM: pem, message: Data(signed.utf8))
            } catch {
                throw .configuration("\(purpose), and the service account key \(path) cannot sign: \(error.message)", hint: error.hint)
            }
            let assertion = signed + "." + base64URL(signature)
            return try await exchange([("grant_type", "urn:ietf:params:oauth:grant-type:jwt-bearer"), ("assertion", assertion)],
                                      at: tokenURI, source: "the service account \(email)", environment, for: purpose)
        case "authorized_user":
            guard let client = key["client_id"]?.string, let secret = key["client_secret"]?.string, let refresh = key["refresh_token"]?.string else {
                throw .configuration("\(purpose), and the user credentials \(path) lack client_id, client_secret or refresh_token.")
            }
            var token = try await exchange([("grant_type", "refresh_token"), ("client_id", client), ("client_secret", secret), ("refresh_token", refresh)],
                                           at: key["token_uri"]?.string ?? "https://oauth2.googleapis.com/token", source: "the user credentials in \(path)",
                                           environment, for: purpose)
            // gcloud's own OAuth client has no quota of its own: APIs bill the project the file names.
            token.quotaProject = key["quota_project_id"]?.string
            return token
        case let other:
            throw .configuration("\(purpose), and the credentials file \(path) is of type \(other ?? "none"), which runtime does not read.",
                                 hint: "Use a service account key (type service_account) or gcloud's user credentials (authorized_user), or the metadata server.")
        }
    }

    /// OAuth 2 token endpoint: a form POST answered with `access_token` and `expires_in`.
    private static func exchange(_ form: [(String, String)], at url: String, source: String, _ environment: Environment,
                                 for purpose: String) async throws(TaskShimError) -> AccessToken {
        let response = try await CloudHTTP.send(HTTPRequest(method: "POST", url: url, headers: [("Content-Type", "application/x-www-form-urlencoded")],
                                                            body: Data(CloudHTTP.form(form).utf8)),
                                                "\(purpose), and Google's token endpoint (\(url))", environment: environment)
        return try token(from: response, source: source, "\(purpose), and Google's token endpoint")
    }

    private static func fromMetadataServer(_ environment: Environment, for purpose: String) async throws(TaskShimError) -> AccessToken {
        let host = environment["GCE_METADATA_HOST"] ?? "metadata.google.internal"
        let url = "http://\(host)/computeMetadata/v1/instance/service-accounts/default/token"
        let response: HTTPResponse
        do {
            response = try await CloudHTTP.send(HTTPRequest(url: url, headers: [("Metadata-Flavor", "Google")]), "the metadata server",
                                                environment: environment, connectTimeout: .seconds(1), requestTimeout: .seconds(3))
        } catch where CloudHTTP.isUnreachable(error) && environment["GCE_METADATA_HOST"] == nil {
            throw .configuration("\(purpose), but no Google credentials were found (no GOOGLE_APPLICATION_CREDENTIALS, and no metadata server answered).",
                                 hint: "Run on Google Cloud with a service account, or set GOOGLE_APPLICATION_CREDENTIALS to a key file.")
        }
        return try token(from: response, source: "the metadata server", "\(purpose), and the metadata server (\(host))")
    }

    static func token(from response: HTTPResponse, source: String, _ what: String) throws(TaskShimError) -> AccessToken {
        let answer = JSONValue.parse(response.body)?.object
        guard response.status == 200, let token = answer?["access_token"]?.string else {
            let detail = [answer?["error"]?.string, answer?["error_description"]?.string].compactMap { $0 }.joined(separator: ": ")
            let message = "\(what) answered \(response.status) without a token\(detail.isEmpty ? "" : " (\(detail))")."
            if response.status >= 500 || response.status == 429 { throw .temporary(message) }
            throw TaskShimError(.noPermission, message, hint: "Check the credentials are valid and not revoked.")
        }
        let lifetime = seconds(answer?["expires_in"])
        return AccessToken(token: token, expiration: lifetime.map { Date(timeIntervalSinceNow: $0) }, source: source)
    }

    /// A number of seconds sent as a JSON number or as text (Azure sends text).
    static func seconds(_ value: JSONValue?) -> Double? {
        switch value {
        case .number(let number)?: number
        case .string(let text)?: Double(text)
        default: nil
        }
    }

    static func base64URL(_ data: Data) -> String {
        String(data.base64EncodedString().compactMap { character -> Character? in
            switch character {
            case "+": "-"
            case "/": "_"
            case "=": nil
            default: character
            }
        })
    }
}
