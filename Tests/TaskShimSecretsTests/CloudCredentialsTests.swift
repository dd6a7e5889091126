import Foundation
import Testing
import TestSupport
@testable import TaskShimCore
@testable import TaskShimSecrets

struct CloudHTTPTests {
    @Test func crc32cMatchesTheCastagnoliCheckValue() {
        #expect(CRC32C.checksum(Array("123456789".utf8)) == 0xE306_9283)
        #expect(CRC32C.checksum([UInt8]()) == 0)
    }

    @Test func formValuesKeepOnlyUnreservedCharacters() {
        #expect(CloudHTTP.form([("a b", "c&d=e/é~")]) == "a%20b=c%26d%3De%2F%C3%A9~")
    }
}

struct ProviderSecretIDTests {
    @Test func theSeedsSecretIDsBecomeReferencesForTheirProvider() throws {
        let aws = try SecretResolver.providerReferences(in: Environment(["SECRETS_PROVIDER": "aws", "TELEMETRY_SECRETS_ID": "prod/telemetry",
                                                                          "DATABASE_SECRET_ID": "arn:aws:secretsmanager:eu-west-1:1:secret:db"]))
        #expect(aws["TELEMETRY_API_KEY"]?.description == "aws-sm://prod/telemetry" && aws["TELEMETRY_API_KEY"]?.bundle == true)
        #expect(aws["DATABASE_URL"]?.locator == "arn:aws:secretsmanager:eu-west-1:1:secret:db")
        let gcp = try SecretResolver.providerReferences(in: Environment(["SECRETS_PROVIDER": "GCP", "TELEMETRY_SECRETS_ID": "telemetry",
                                                                          "GOOGLE_CLOUD_PROJECT": "p", "DATABASE_SECRET_ID": "projects/q/secrets/db"]))
        #expect(gcp["TELEMETRY_API_KEY"]?.description == "gcp-sm://projects/p/secrets/telemetry/versions/latest")
        #expect(gcp["DATABASE_URL"]?.description == "gcp-sm://projects/q/secrets/db/versions/latest")
        let azure = try SecretResolver.providerReferences(in: Environment(["SECRETS_PROVIDER": "azure", "TELEMETRY_SECRETS_ID": "telemetry",
                                                                            "AZURE_KEYVAULT_URL": "https://ops.vault.azure.net/"]))
        #expect(azure["TELEMETRY_API_KEY"]?.description == "azure-kv://ops.vault.azure.net/telemetry")
        // A value already set wins over the id; env reads nothing.
        #expect(try SecretResolver.providerReferences(in: Environment(["SECRETS_PROVIDER": "aws", "TELEMETRY_SECRETS_ID": "x", "TELEMETRY_API_KEY": "k"])).isEmpty)
        #expect(try SecretResolver.providerReferences(in: Environment(["TELEMETRY_SECRETS_ID": "x"])).isEmpty)
    }

    @Test func anIDWithoutItsProjectVaultOrProviderIsAConfigurationError() {
        for values in [["SECRETS_PROVIDER": "gcp", "TELEMETRY_SECRETS_ID": "t"], ["SECRETS_PROVIDER": "azure", "DATABASE_SECRET_ID": "db"],
                       ["SECRETS_PROVIDER": "vault", "DATABASE_SECRET_ID": "db"],
                       ["SECRETS_PROVIDER": "azure", "DATABASE_SECRET_ID": "db", "AZURE_KEYVAULT_URL": "https:///"],
                       ["SECRETS_PROVIDER": "gcp", "TELEMETRY_SECRETS_ID": "t/../../x?y", "GOOGLE_CLOUD_PROJECT": "p"],
                       ["SECRETS_PROVIDER": "azure", "TELEMETRY_SECRETS_ID": "a b", "AZURE_KEY_VAULT_NAME": "v"]] {
            #expect(throws: TaskShimError.self, "\(values)") { _ = try SecretResolver.providerReferences(in: Environment(values)) }
        }
    }

    @Test func aBundledSecretIsTheValueOrAFieldOrAnRDSSecret() throws {
        let reference = SecretReference(source: .awsSecretsManager, locator: "db", bundle: true)
        let rds = #"{"engine":"postgres","host":"db.internal","port":5432,"username":"app","password":"p@ss/word","dbname":"main"}"#
        #expect(try SecretResolver.bundled(rds, for: "DATABASE_URL", from: reference) == "postgresql://app:p%40ss%2Fword@db.internal:5432/main")
        #expect(try SecretResolver.bundled(#"{"url":"postgres://x"}"#, for: "DATABASE_URL", from: reference) == "postgres://x")
        #expect(try SecretResolver.bundled("postgres://plain", for: "DATABASE_URL", from: reference) == "postgres://plain")
        #expect(try SecretResolver.bundled(#"{"api_key":"k1"}"#, for: "TELEMETRY_API_KEY", from: reference) == "k1")
        #expect(try SecretResolver.bundled(#"{"TELEMETRY_API_KEY":"k2","api_key":"no"}"#, for: "TELEMETRY_API_KEY", from: reference) == "k2")
        #expect(throws: TaskShimError.self) { _ = try SecretResolver.bundled(#"{"engine":"mysql","host":"h","username":"u","password":"p"}"#, for: "DATABASE_URL", from: reference) }
        #expect(throws: TaskShimError.self) { _ = try SecretResolver.bundled(#"{"other":"x"}"#, for: "TELEMETRY_API_KEY", from: reference) }
    }
}

struct AWSCredentialProviderTests {
    @Test func theSharedCredentialsFileIsReadForTheProfile() async throws {
        let directory = try TemporaryDirectory()
        let path = try directory.write("credentials", """
            [default]
            aws_access_key_id = AKIADEFAULT
            aws_secret_access_key = default-secret
            # a comment
            [ci]
            aws_access_key_id=AKIACI
            aws_secret_access_key=ci-secret
            aws_session_token = ci-session
            """)
        let base = ["AWS_SHARED_CREDENTIALS_FILE": path, "AWS_EC2_METADATA_DISABLED": "true"]
        let byDefault = try await AWSCredentialProvider.load(Environment(base), for: "test")
        #expect(byDefault.accessKeyID == "AKIADEFAULT" && byDefault.secretAccessKey == "default-secret" && byDefault.sessionToken == nil)
        let ci = try await AWSCredentialProvider.load(Environment(base.merging(["AWS_PROFILE": "ci"]) { $1 }), for: "test")
        #expect(ci.accessKeyID == "AKIACI" && ci.sessionToken == "ci-session" && ci.source == "the profile ci")
        await #expect(throws: TaskShimError.self) {
            _ = try await AWSCredentialProvider.load(Environment(base.merging(["AWS_PROFILE": "nope"]) { $1 }), for: "test")
        }
    }

    @Test func credentialsCloseToExpiringAreFetchedAgainAndOthersKept() async throws {
        let soon = ISO8601DateFormatter().string(from: Date(timeIntervalSinceNow: 60))
        let server = try await CloudIdentityServer.start(["aws_token": "t", "aws_credentials": [
            ["AccessKeyId": "ASIASOON", "SecretAccessKey": "s1", "Token": "t1", "Expiration": soon],
            ["AccessKeyId": "ASIALATER", "SecretAccessKey": "s2", "Token": "t2", "Expiration": "2099-01-01T00:00:00Z"],
        ]])
        let environment = Environment(["AWS_CONTAINER_CREDENTIALS_FULL_URI": server.url + "/aws/credentials", "AWS_CONTAINER_AUTHORIZATION_TOKEN": "t"])
        let provider = AWSCredentialProvider.cache(environment)
        #expect(try await provider.value(for: "test").accessKeyID == "ASIASOON")
        #expect(try await provider.value(for: "test").accessKeyID == "ASIALATER", "within five minutes of expiring: fetched again")
        #expect(try await provider.value(for: "test").accessKeyID == "ASIALATER")
        #expect(try await server.counts()["aws-container"] == 2, "kept while far from expiring")
        // Many at once share one fetch.
        let refreshed = AWSCredentialProvider.cache(environment)
        let keys = try await withThrowingTaskGroup(of: String.self) { group in
            for _ in 0..<8 { group.addTask { try await refreshed.value(for: "test").accessKeyID } }
            return try await group.reduce(into: Set<String>()) { $0.insert($1) }
        }
        #expect(keys == ["ASIALATER"])
        #expect(try await server.counts()["aws-container"] == 3)
    }

    @Test func aSlowCredentialsEndpointCannotHoldTheStartPastTheTimeLimit() async throws {
        let server = try await CloudIdentityServer.start(["aws_token": "t", "aws_delay_seconds": 10,
                                              "aws_credentials": [["AccessKeyId": "ASIASLOW", "SecretAccessKey": "s", "Token": "t"]]])
        let environment = Environment(["AWS_CONTAINER_CREDENTIALS_FULL_URI": server.url + "/aws/credentials", "AWS_CONTAINER_AUTHORIZATION_TOKEN": "t",
                                       "AWS_REGION": "eu-west-1", "A_SECRET": "aws-sm://one", "B_SECRET": "aws-sm://two"])
        let started = ContinuousClock.now
        do {
            _ = try await SecretResolver(timeout: .milliseconds(500)).resolve(environment)
            Issue.record("resolved behind a 10 s endpoint")
        } catch {
            #expect(error.status == .temporaryFailure && error.message.contains("took longer than"), "\(error)")
        }
        #expect(started.duration(to: .now) < .seconds(8), "stopped at the limit (0.5 s, and about a second to abort the transfer), not when the endpoint answered (10 s)")
    }

    @Test func theContainerTokenIsSentOverHTTPOnlyToLocalAddresses() {
        for url in ["http://127.0.0.1:8080/creds", "http://169.254.170.2/v2/credentials", "http://169.254.170.23/v1/credentials",
                    "http://[fd00:ec2::23]/v1/credentials", "http://localhost/x", "https://creds.example.com/x"] {
            #expect(AWSCredentialProvider.allowedContainerEndpoint(url), "\(url)")
        }
        for url in ["http://creds.example.com/x", "http://10.0.0.5/x", "ftp://127.0.0.1/x", "http://127.0.0.1.example.com/x"] {
            #expect(!AWSCredentialProvider.allowedContainerEndpoint(url), "\(url)")
        }
    }

    @Test func instanceMetadataIsReadWithAnIMDSv2SessionToken() async throws {
        let server = try await CloudIdentityServer.start(["aws_credentials": [["AccessKeyId": "ASIAEC2", "SecretAccessKey": "s", "Token": "t",
                                                                   "Expiration": "2099-01-01T00:00:00Z"]]])
        let credentials = try await AWSCredentialProvider.load(Environment(["AWS_EC2_METADATA_SERVICE_ENDPOINT": server.url, "HOME": "/nonexistent"]), for: "test")
        #expect(credentials.accessKeyID == "ASIAEC2" && credentials.sessionToken == "t" && credentials.source == "EC2 instance metadata")
        let counts = try await server.counts()
        #expect(counts["imds-token"] == 1 && counts["imds-credentials"] == 2, "\(counts)")
        // Disabled: not asked.
        await #expect(throws: TaskShimError.self) {
            _ = try await AWSCredentialProvider.load(Environment(["AWS_EC2_METADATA_SERVICE_ENDPOINT": server.url, "AWS_EC2_METADATA_DISABLED": "true",
                                                                  "HOME": "/nonexistent"]), for: "test")
        }
        #expect(try await server.counts()["imds-token"] == 1)
    }
}

struct GoogleAndAzureTests {
    @Test func aRevokedGoogleTokenIsReplacedOnce() async throws {
        let server = try await CloudIdentityServer.start(["gcp_secrets": ["projects/p/secrets/s/versions/latest": Canary.value]])
        let manager = GoogleSecretManager(environment: Environment(["GCE_METADATA_HOST": "127.0.0.1:\(server.port)",
                                                                    "CLOUDSDK_API_ENDPOINT_OVERRIDES_SECRETMANAGER": server.url + "/", "HOME": "/nonexistent"]))
        #expect(try await manager.secretString("projects/p/secrets/s/versions/latest", for: "X") == Canary.value)
        #expect(try await manager.secretString("projects/p/secrets/s/versions/latest", for: "X") == Canary.value)
        #expect(try await server.counts()["gce-token"] == 1)
        try await server.revokeTokens()
        #expect(try await manager.secretString("projects/p/secrets/s/versions/latest", for: "X") == Canary.value)
        let counts = try await server.counts()
        #expect(counts["gce-token"] == 2 && counts["gcp-access"] == 4, "\(counts)")
        await #expect(throws: TaskShimError.self) { _ = try await manager.secretString("projects/p/secrets/nope/versions/1", for: "X") }
    }

    @Test func aServiceAccountKeySignsAJWTTheTokenEndpointVerifies() async throws {
        let directory = try TemporaryDirectory()
        let key = try await GoogleServiceAccountKey.make(in: directory)
        let server = try await CloudIdentityServer.start(key.serverConfiguration.merging(["gcp_secrets": ["projects/p/secrets/s/versions/3": "v3"]]) { $1 })
        let path = try key.writeKeyFile(tokenURI: server.url + "/token")
        let manager = GoogleSecretManager(environment: Environment(["GOOGLE_APPLICATION_CREDENTIALS": path,
                                                                    "CLOUDSDK_API_ENDPOINT_OVERRIDES_SECRETMANAGER": server.url]))
        #expect(try await manager.secretString("projects/p/secrets/s/versions/3", for: "X") == "v3")
        #expect(try await server.counts()["google-token"] == 1)
        // Another key (not the one the server knows) is refused by the verifier: 77, not a value.
        let other = try await GoogleServiceAccountKey.make(in: try TemporaryDirectory())
        let wrong = GoogleSecretManager(environment: Environment(["GOOGLE_APPLICATION_CREDENTIALS": try other.writeKeyFile(tokenURI: server.url + "/token"),
                                                                  "CLOUDSDK_API_ENDPOINT_OVERRIDES_SECRETMANAGER": server.url]))
        do {
            _ = try await wrong.secretString("projects/p/secrets/s/versions/3", for: "X")
            Issue.record("a JWT signed by another key was accepted")
        } catch {
            #expect(error.status == .noPermission && error.message.contains("Invalid JWT Signature"), "\(error)")
        }
    }

    @Test func keyVaultIsReadWithEachManagedIdentitySource() async throws {
        let directory = try TemporaryDirectory()
        let federated = try directory.write("federated-token", "eyJfederated.token\n")
        let server = try await CloudIdentityServer.start(["azure_secrets": ["db-password": Canary.value], "identity_header": "app-service-secret",
                                              "federated_token": "eyJfederated.token", "azure_client_id": "client-1", "azure_tenant_id": "tenant-1"])
        let vault = ["TASKSHIM_AZURE_KEYVAULT_ENDPOINT": server.url + "/kv"]
        let sources: [(String, [String: String])] = [
            ("azure-imds", ["AZURE_POD_IDENTITY_AUTHORITY_HOST": server.url]),
            ("azure-app-service", ["IDENTITY_ENDPOINT": server.url + "/msi/token", "IDENTITY_HEADER": "app-service-secret"]),
            ("entra-token", ["AZURE_FEDERATED_TOKEN_FILE": federated, "AZURE_CLIENT_ID": "client-1", "AZURE_TENANT_ID": "tenant-1",
                             "AZURE_AUTHORITY_HOST": server.url]),
        ]
        for (route, environment) in sources {
            let keyVault = AzureKeyVault(environment: Environment(environment.merging(vault) { $1 }))
            #expect(try await keyVault.secretString(vault: "ops", name: "db-password", for: "X") == Canary.value, "\(route)")
            #expect(try await server.counts()[route] == 1, "\(route)")
        }
        let wrongHeader = AzureKeyVault(environment: Environment(["IDENTITY_ENDPOINT": server.url + "/msi/token", "IDENTITY_HEADER": "nope"].merging(vault) { $1 }))
        do {
            _ = try await wrongHeader.secretString(vault: "ops", name: "db-password", for: "X")
            Issue.record("a wrong identity header got a token")
        } catch {
            #expect(error.status == .noPermission, "\(error)")
        }
        let missing = AzureKeyVault(environment: Environment(["AZURE_POD_IDENTITY_AUTHORITY_HOST": server.url].merging(vault) { $1 }))
        do {
            _ = try await missing.secretString(vault: "ops", name: "nope", for: "X")
            Issue.record("a missing secret was read")
        } catch {
            #expect(error.status == .configuration && error.message.contains("SecretNotFound"), "\(error)")
        }
    }
}

struct SecretStoreTests {
    @Test func valuesAreReadAgainPastTheirTTLAndKeptWhenThatFails() async throws {
        let directory = try TemporaryDirectory()
        let path = try directory.write("key", "first")
        let (environment, store) = try await SecretResolver().resolved(Environment(["API_KEY": "file://" + path, "PLAIN": "x"]),
                                                                       ttl: .seconds(2))
        let secrets = try #require(store)
        #expect(environment["API_KEY"] == "first")
        #expect(await secrets.names == ["API_KEY"])
        _ = try directory.write("key", "second")
        #expect(await secrets.value(named: "API_KEY") == "first", "within the TTL")
        #expect(await secrets.value(named: "PLAIN") == nil, "not from a reference")
        try await Task.sleep(for: .milliseconds(2500))
        #expect(await secrets.value(named: "API_KEY") == "second")
        try FileManager.default.removeItem(atPath: path)
        try await Task.sleep(for: .milliseconds(2500))
        #expect(await secrets.value(named: "API_KEY") == "second", "a failed read keeps the value")
    }

    @Test func aRefusedSecretIsReadAgainAtOnceButNotAtEveryRefusal() async throws {
        let directory = try TemporaryDirectory()
        let path = try directory.write("key", "old")
        let (_, store) = try await SecretResolver().resolved(Environment(["API_KEY": "file://" + path]), ttl: nil)
        let secrets = try #require(store)
        _ = try directory.write("key", "rotated")
        #expect(await secrets.value(named: "API_KEY") == "old", "no TTL: kept")
        #expect(try await secrets.refreshed(named: "API_KEY") == "rotated")
        _ = try directory.write("key", "again")
        #expect(try await secrets.refreshed(named: "API_KEY") == "rotated", "a second refusal within 30 s reads nothing")
        #expect(try await secrets.refreshed(named: "OTHER") == nil)
        // Through the handlers' provider: refreshed values are redacted too.
        let redactor = Redactor()
        let provider = StoredSecrets(store: secrets, environment: Environment(["OTHER": "plain-value"]), redactor: redactor)
        #expect(try await provider.refreshed(named: "API_KEY") == "rotated")
        #expect(!redactor.redact("key=rotated").contains("rotated"))
        #expect(try await provider.secret(named: "OTHER") == "plain-value")
    }

    @Test func callersRefusedAtOnceShareOneReadAndAllGetTheRotatedValue() async throws {
        let server = try await CloudIdentityServer.start(["gcp_secrets": ["projects/p/secrets/k/versions/latest": ["old", "rotated"]]])
        let environment = Environment(["API_KEY": "gcp-sm://projects/p/secrets/k/versions/latest", "GCE_METADATA_HOST": "127.0.0.1:\(server.port)",
                                       "CLOUDSDK_API_ENDPOINT_OVERRIDES_SECRETMANAGER": server.url])
        let (resolved, store) = try await SecretResolver().resolved(environment, ttl: nil)
        let secrets = try #require(store)
        #expect(resolved["API_KEY"] == "old")
        let values = try await withThrowingTaskGroup(of: String?.self) { group in
            for _ in 0..<8 { group.addTask { try await secrets.refreshed(named: "API_KEY") } }
            return try await group.reduce(into: [String?]()) { $0.append($1) }
        }
        #expect(values == Array(repeating: "rotated", count: 8))
        #expect(try await server.counts()["gcp-access"] == 2, "one read at start, one for all eight refusals")
    }
}
