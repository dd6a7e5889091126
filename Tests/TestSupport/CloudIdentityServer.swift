import Foundation
import TaskShimClients

/// Tests/Support/cloud_identity.py: the AWS container and instance-metadata credential endpoints, Google's
/// metadata server, token endpoint and Secret Manager, and Azure's managed identity endpoints and Key
/// Vault, played as their documentation describes them (no real one can run here).
public final class CloudIdentityServer: @unchecked Sendable {
    private let server: PortServer
    private let directory: TemporaryDirectory

    /// - Parameter configuration: the JSON object cloud_identity.py documents. Blocks while Python
    ///   starts: from async tests use ``start(_:)``.
    public convenience init(_ configuration: [String: Any]) throws {
        try self.init(json: try JSONSerialization.data(withJSONObject: configuration))
    }

    /// Starts the server off the cooperative pool (the interpreter takes a while to listen).
    public static func start(_ configuration: [String: Any]) async throws -> CloudIdentityServer {
        let data = try JSONSerialization.data(withJSONObject: configuration)
        return try await offPool { try CloudIdentityServer(json: data) }
    }

    private init(json: Data) throws {
        directory = try TemporaryDirectory()
        try json.write(to: URL(fileURLWithPath: directory.file("config.json")))
        server = try PortServer(["python3", RepositoryPaths.path("Tests/Support/cloud_identity.py"), "--config", directory.file("config.json")])
    }

    public var port: Int { server.port }
    public var url: String { "http://127.0.0.1:\(server.port)" }

    /// Requests per route so far ("aws-container", "gce-token", "keyvault", ...).
    public func counts() async throws -> [String: Int] {
        let response = try await HTTPClient().send(HTTPRequest(url: url + "/_counts"))
        return (try JSONSerialization.jsonObject(with: response.body) as? [String: Int]) ?? [:]
    }

    /// Invalidates every token issued so far, as a revocation would.
    public func revokeTokens() async throws {
        _ = try await HTTPClient().send(HTTPRequest(method: "POST", url: url + "/_control/revoke"))
    }
}

/// A Google service account's key, a fresh RSA key made by the openssl command.
public struct GoogleServiceAccountKey: Sendable {
    public let publicKeyPEM: String
    public let clientEmail = "runner@taskshim-test.iam.gserviceaccount.com"
    public let keyID = "0123456789abcdef"
    private let privateKeyPEM: String
    private let directory: TemporaryDirectory

    /// Makes the key off the cooperative pool (openssl runs as a child process).
    public static func make(in directory: TemporaryDirectory) async throws -> GoogleServiceAccountKey {
        try await offPool { try GoogleServiceAccountKey(in: directory) }
    }

    public init(in directory: TemporaryDirectory) throws {
        self.directory = directory
        let privatePath = directory.file("sa-private.pem")
        let made = try runProcess("/usr/bin/env", ["openssl", "genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048", "-out", privatePath])
        let extracted = try runProcess("/usr/bin/env", ["openssl", "pkey", "-in", privatePath, "-pubout"])
        guard made.status == 0, extracted.status == 0 else { throw MissingServer(description: "openssl could not make an RSA key: \(made.stderr)") }
        publicKeyPEM = extracted.stdout
        privateKeyPEM = try String(contentsOfFile: privatePath, encoding: .utf8)
    }

    /// Writes the key file as the Cloud console makes it, exchanged at `tokenURI`; returns its path.
    public func writeKeyFile(tokenURI: String) throws -> String {
        let key: [String: String] = ["type": "service_account", "project_id": "taskshim-test", "private_key_id": keyID,
                                     "private_key": privateKeyPEM, "client_email": clientEmail, "client_id": "1", "token_uri": tokenURI]
        let path = directory.file("service-account.json")
        try JSONSerialization.data(withJSONObject: key).write(to: URL(fileURLWithPath: path))
        return path
    }

    /// The server configuration entries that let cloud_identity.py verify this key's JWTs.
    public var serverConfiguration: [String: Any] {
        ["google_public_key": publicKeyPEM, "google_key_id": keyID, "google_client_email": clientEmail]
    }
}
