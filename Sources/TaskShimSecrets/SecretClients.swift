import TaskShimCore

/// The cloud secret services one resolution talks to, each with its credentials fetched once and
/// shared by every reference to it.
struct SecretClients: Sendable {
    let aws: AWSSecretsManager
    let gcp: GoogleSecretManager
    let azure: AzureKeyVault

    init(environment: Environment) {
        aws = AWSSecretsManager(environment: environment)
        gcp = GoogleSecretManager(environment: environment)
        azure = AzureKeyVault(environment: environment)
    }
}
