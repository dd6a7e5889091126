import FoundationEssentials
import TaskShimClients
import TaskShimCore

/// Azure Key Vault's Get Secret: `GET https://VAULT.vault.azure.net/secrets/NAME?api-version=7.4` with a
/// token from ``AzureTokenProvider``. A vault written with a dot is a host name (other clouds'
/// suffixes, e.g. `vault.vault.azure.cn`); `TASKSHIM_AZURE_KEYVAULT_ENDPOINT` replaces the whole base
/// URL (emulators and tests).
struct AzureKeyVault: Sendable {
    static let apiVersion = "7.4"
    let environment: Environment
    let tokens: CredentialCache<AccessToken>

    init(environment: Environment) {
        self.environment = environment
        tokens = AzureTokenProvider.cache(environment)
    }

    func secretString(vault: String, name secret: String, for name: String) async throws(TaskShimError) -> String {
        let purpose = "\(name) refers to azure-kv://\(vault)/\(secret)"
        // A 401 is about the token (expired, revoked): fetch another; a 403 is a missing permission.
        return try await tokens.using(for: purpose, isStale: { $0.message.contains(CloudHTTP.unauthorized) }) { token throws(TaskShimError) in
            try await secretString(vault: vault, name: secret, purpose: purpose, token: token)
        }
    }

    private func secretString(vault: String, name secret: String, purpose: String, token: AccessToken) async throws(TaskShimError) -> String {
        var base = environment["TASKSHIM_AZURE_KEYVAULT_ENDPOINT"] ?? (vault.contains(".") ? "https://\(vault)" : "https://\(vault).vault.azure.net")
        while base.hasSuffix("/") { base.removeLast() }
        let url = base + "/secrets/" + CloudHTTP.percentEncoded(secret) + "?api-version=" + Self.apiVersion
        let answer = try await CloudHTTP.bearerGet(url, token: token, service: "Key Vault (\(base))", codeField: "code", purpose: purpose,
                                                   environment: environment,
                                                   notFound: "Check the vault and the secret's name, and that the secret is enabled.",
                                                   denied: "Grant the identity the Key Vault Secrets User role (or a Get secret access policy).")
        guard let value = answer["value"]?.string else { throw .temporary("\(purpose), and Key Vault's answer has no value.") }
        return value
    }
}
