import FoundationEssentials
import TaskShimClients
import TaskShimCore

/// Microsoft Entra tokens for Key Vault, found the way azure-identity's `DefaultAzureCredential` looks
/// for a workload's identity:
///
/// 1. workload identity (AKS): `AZURE_FEDERATED_TOKEN_FILE`, `AZURE_CLIENT_ID`, `AZURE_TENANT_ID`, exchanged
///    at `AZURE_AUTHORITY_HOST` (default `https://login.microsoftonline.com/`);
/// 2. App Service, Functions and Container Apps: `IDENTITY_ENDPOINT` with `IDENTITY_HEADER`;
/// 3. the instance metadata service (VMs, AKS nodes): `169.254.169.254`, or
///    `AZURE_POD_IDENTITY_AUTHORITY_HOST`.
///
/// `AZURE_CLIENT_ID` picks a user-assigned identity for the last two.
enum AzureTokenProvider {
    static let resource = "https://vault.azure.net"

    static func cache(_ environment: Environment) -> CredentialCache<AccessToken> {
        CredentialCache(environment: environment, load: load)
    }

    static func load(_ environment: Environment, for purpose: String) async throws(TaskShimError) -> AccessToken {
        let clientID = environment["AZURE_CLIENT_ID"]
        if let file = environment["AZURE_FEDERATED_TOKEN_FILE"], let tenant = environment["AZURE_TENANT_ID"], let clientID {
            guard let data = FileManager.default.contents(atPath: file) else {
                throw .configuration("\(purpose), and AZURE_FEDERATED_TOKEN_FILE=\(file) cannot be read.")
            }
            var authority = environment["AZURE_AUTHORITY_HOST"] ?? "https://login.microsoftonline.com/"
            if !authority.hasSuffix("/") { authority += "/" }
            let url = authority + tenant + "/oauth2/v2.0/token"
            let form = CloudHTTP.form([("client_id", clientID), ("scope", resource + "/.default"), ("grant_type", "client_credentials"),
                                       ("client_assertion_type", "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"),
                                       ("client_assertion", String(decoding: data, as: UTF8.self).trimmed)])
            let response = try await CloudHTTP.send(HTTPRequest(method: "POST", url: url, headers: [("Content-Type", "application/x-www-form-urlencoded")],
                                                                body: Data(form.utf8)),
                                                    "\(purpose), and Microsoft Entra (\(url))", environment: environment)
            return try token(from: response, source: "workload identity", "\(purpose), and Microsoft Entra")
        }
        var query = [("resource", resource)]
        if let clientID { query.append(("client_id", clientID)) }
        if let endpoint = environment["IDENTITY_ENDPOINT"], let header = environment["IDENTITY_HEADER"] {
            let url = endpoint + (endpoint.contains("?") ? "&" : "?") + CloudHTTP.form([("api-version", "2019-08-01")] + query)
            let response = try await CloudHTTP.send(HTTPRequest(url: url, headers: [("X-IDENTITY-HEADER", header)]),
                                                    "\(purpose), and the managed identity endpoint (\(endpoint))", environment: environment)
            return try token(from: response, source: "the managed identity endpoint", "\(purpose), and the managed identity endpoint")
        }
        var host = environment["AZURE_POD_IDENTITY_AUTHORITY_HOST"] ?? "http://169.254.169.254"
        while host.hasSuffix("/") { host.removeLast() }
        let url = host + "/metadata/identity/oauth2/token?" + CloudHTTP.form([("api-version", "2018-02-01")] + query)
        let response: HTTPResponse
        do {
            response = try await CloudHTTP.send(HTTPRequest(url: url, headers: [("Metadata", "true")]), "the instance metadata service",
                                                environment: environment, connectTimeout: .seconds(1), requestTimeout: .seconds(3))
        } catch where CloudHTTP.isUnreachable(error) && environment["AZURE_POD_IDENTITY_AUTHORITY_HOST"] == nil {
            throw .configuration("\(purpose), but no Azure managed identity was found (no workload identity, IDENTITY_ENDPOINT or instance metadata service).",
                                 hint: "Assign a managed identity to the app, VM or pod, or set up AKS workload identity.")
        }
        return try token(from: response, source: "the instance metadata service", "\(purpose), and the instance metadata service")
    }

    /// A token answer: `access_token` with `expires_on` (seconds since 1970, as text or a number) or `expires_in`.
    static func token(from response: HTTPResponse, source: String, _ what: String) throws(TaskShimError) -> AccessToken {
        var token = try GoogleTokenProvider.token(from: response, source: source, what)
        if let expiresOn = GoogleTokenProvider.seconds(JSONValue.parse(response.body)?.object?["expires_on"]) {
            token.expiration = Date(timeIntervalSince1970: expiresOn)
        }
        return token
    }
}
