import Foundation
import Testing
import TestSupport

extension ProcessDrivingTests {
/// Cloud secrets read by the binary at start-up: AWS against moto's server checking every signature,
/// Google and Azure against Tests/Support/cloud_identity.py.
@Suite struct CloudSecretsContractTests {
    /// Runs the binary in a scratch directory (the demo database is made there), never with the machine's
    /// own credentials or metadata service.
    func runtime(_ arguments: [String], _ environment: [String: String], input: Data? = nil) async throws -> ProcessResult {
        let isolated = ["HOME": "/nonexistent", "AWS_EC2_METADATA_DISABLED": "true"].merging(environment) { $1 }
        let directory = try TemporaryDirectory()
        return try await runProcessAsync(RepositoryPaths.runtimeBinary, arguments, environment: isolated, directory: directory.path, input: input)
    }

    @Test func awsRequestsCarrySignaturesMotoAcceptsAndAWrongKeyExits77() async throws {
        let moto = try await MotoServer(checkingSignatures: true)
        let identity = try #require(moto.identity)
        let directory = try TemporaryDirectory()
        try await moto.createSecret(name: "signed/queue", value: "sqlite:" + directory.file("signed.db"))
        var environment = ["AWS_ACCESS_KEY_ID": identity.accessKeyID, "AWS_SECRET_ACCESS_KEY": identity.secretAccessKey,
                           "AWS_REGION": "eu-west-1", "AWS_ENDPOINT_URL": moto.url, "TASKSHIM_QUEUE_URL": "aws-sm://signed/queue"]
        let signed = try await runtime(["jobs", "stats"], environment)
        #expect(signed.status == 0 && FileManager.default.fileExists(atPath: directory.file("signed.db")), "\(signed.stderr)")
        environment["AWS_SECRET_ACCESS_KEY"] = "not-the-key"
        let wrong = try await runtime(["jobs", "stats"], environment)
        #expect(wrong.status == 77 && wrong.stderr.contains("SignatureDoesNotMatch") && !wrong.stderr.contains("not-the-key"), "\(wrong.stderr)")
    }

    @Test func aWebIdentityTokenIsExchangedWithSTSForTheRole() async throws {
        // moto checks every call but two after its setup: the secret's creation and STS AssumeRoleWithWebIdentity,
        // which AWS takes unsigned. The secret is then read with the role's temporary credentials, checked.
        let moto = try await MotoServer(checkingSignatures: true, uncheckedCalls: 2)
        let identity = try #require(moto.identity)
        let directory = try TemporaryDirectory()
        try await moto.createSecret(name: "irsa/queue", value: #"{"url":"sqlite:\#(directory.file("irsa.db"))"}"#)
        let token = try directory.write("token", "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJzeXN0ZW06c2VydmljZWFjY291bnQ6YXBwOnJ1bm5lciJ9.c2ln\n")
        let stats = try await runtime(["jobs", "stats"], ["AWS_WEB_IDENTITY_TOKEN_FILE": token, "AWS_ROLE_ARN": identity.roleARN,
                                                          "AWS_REGION": "eu-west-1", "AWS_ENDPOINT_URL": moto.url,
                                                          "TASKSHIM_QUEUE_URL": "aws-sm://irsa/queue#url"])
        #expect(stats.status == 0 && FileManager.default.fileExists(atPath: directory.file("irsa.db")), "\(stats.stderr)")
        // A token file that cannot be read: 78, naming it.
        let unreadable = try await runtime(["jobs", "stats"], ["AWS_WEB_IDENTITY_TOKEN_FILE": "/nonexistent/token", "AWS_ROLE_ARN": identity.roleARN,
                                                               "AWS_REGION": "eu-west-1", "TASKSHIM_QUEUE_URL": "aws-sm://irsa/queue#url"])
        #expect(unreadable.status == 78 && unreadable.stderr.contains("the web identity token file /nonexistent/token cannot be read"), "\(unreadable.stderr)")
    }

    @Test func containerCredentialsTheServiceRefusesAreFetchedAgain() async throws {
        let moto = try await MotoServer(checkingSignatures: true)
        let identity = try #require(moto.identity)
        let directory = try TemporaryDirectory()
        try await moto.createSecret(name: "ecs/queue", value: "sqlite:" + directory.file("ecs.db"))
        // The endpoint first serves credentials moto does not know (revoked, say), then good ones.
        let endpoint = try await CloudIdentityServer.start(["aws_token": "task-token", "aws_credentials": [
            ["AccessKeyId": "ASIAREVOKED", "SecretAccessKey": "gone", "Token": "old-session", "Expiration": "2099-01-01T00:00:00Z"],
            // (No Token: moto refuses an IAM user's keys sent with a session token.)
            ["AccessKeyId": identity.accessKeyID, "SecretAccessKey": identity.secretAccessKey, "Expiration": "2099-01-01T00:00:00Z"],
        ]])
        let stats = try await runtime(["jobs", "stats"], ["AWS_CONTAINER_CREDENTIALS_FULL_URI": endpoint.url + "/aws/credentials",
                                                          "AWS_CONTAINER_AUTHORIZATION_TOKEN": "task-token", "AWS_REGION": "eu-west-1",
                                                          "AWS_ENDPOINT_URL": moto.url, "TASKSHIM_QUEUE_URL": "aws-sm://ecs/queue"])
        #expect(stats.status == 0 && FileManager.default.fileExists(atPath: directory.file("ecs.db")), "\(stats.stderr)")
        #expect(try await endpoint.counts()["aws-container"] == 2)
    }

    @Test func googleSecretsAreReadWithAServiceAccountKeyForTheSeedsTelemetryID() async throws {
        let directory = try TemporaryDirectory()
        let key = try await GoogleServiceAccountKey.make(in: directory)
        let server = try await CloudIdentityServer.start(key.serverConfiguration.merging(
            ["gcp_secrets": ["projects/ops/secrets/telemetry/versions/latest": #"{"api_key":"\#(Canary.value)"}"#]]) { $1 })
        let receiver = try await RecordingReceiver.start()
        let environment = ["SECRETS_PROVIDER": "gcp", "TELEMETRY_SECRETS_ID": "telemetry", "GOOGLE_CLOUD_PROJECT": "ops",
                           "GOOGLE_APPLICATION_CREDENTIALS": try key.writeKeyFile(tokenURI: server.url + "/token"),
                           "CLOUDSDK_API_ENDPOINT_OVERRIDES_SECRETMANAGER": server.url + "/", "TELEMETRY_URL": receiver.url]
        let demo = RepositoryPaths.path("handlers/SQLTelemetry/examples/demo.sql")
        let checked = try await runtime(["exec", demo, "--test-connection"], environment)
        #expect(checked.status == 0, "\(checked.stdout)\(checked.stderr)")
        #expect(receiver.requests.first?.headers["authorization"] == Canary.value, "the key from Secret Manager is the one sent")
        // (runProcessAsync fails the test if the canary appears in any output.)
        var missing = environment
        missing["TELEMETRY_SECRETS_ID"] = "retired"
        let refused = try await runtime(["exec", demo, "--test-connection"], missing)
        #expect(refused.status == 78 && refused.stderr.contains("gcp-sm://projects/ops/secrets/retired/versions/latest")
                && refused.stderr.contains("NOT_FOUND"), "\(refused.stderr)")
    }

    @Test func aTelemetryKeyTheEndpointRefusesIsReadAgainAndTheBatchSentWithTheNewOne() async throws {
        // Secret Manager serves the old key, then the rotated one; the endpoint refuses the first request.
        let server = try await CloudIdentityServer.start(["gcp_secrets": ["projects/ops/secrets/telemetry/versions/latest": ["old-key-1", "rotated-key-2"]]])
        let receiver = try await RecordingReceiver.start(statuses: ["401", "200"])
        let demo = RepositoryPaths.path("handlers/SQLTelemetry/examples/demo.sql")
        let run = try await runtime(["exec", demo],
                                    ["TELEMETRY_API_KEY": "gcp-sm://projects/ops/secrets/telemetry/versions/latest", "GCE_METADATA_HOST": "127.0.0.1:\(server.port)",
                                     "CLOUDSDK_API_ENDPOINT_OVERRIDES_SECRETMANAGER": server.url, "TELEMETRY_URL": receiver.url])
        #expect(run.status == 0, "\(run.stdout)\(run.stderr)")
        let keys = receiver.requests.map { $0.headers["authorization"] ?? "" }
        #expect(keys.prefix(2) == ["old-key-1", "rotated-key-2"], "\(keys)")
        #expect(receiver.requests.count >= 2 && receiver.requests[0].body == receiver.requests[1].body, "the same batch sent again")
        #expect(!run.stdout.contains("rotated-key-2") && !run.stderr.contains("rotated-key-2"), "the new key is redacted too")
        #expect(try await server.counts()["gcp-access"] == 2)
    }

    @Test func anRDSStyleKeyVaultSecretBecomesTheDatabaseURL() async throws {
        let url = try #require(URLComponents(string: try TestServers.postgresURL()))
        let rds = ["engine": "postgres", "host": url.host ?? "", "port": url.port.map(String.init) ?? "5432", "username": url.user ?? "",
                   "password": url.password ?? "", "dbname": String(url.path.dropFirst())]
        let secret = String(decoding: try JSONSerialization.data(withJSONObject: rds), as: UTF8.self)
        let server = try await CloudIdentityServer.start(["azure_secrets": ["app-db": secret], "identity_header": "container-apps"])
        let environment = ["SECRETS_PROVIDER": "azure", "DATABASE_SECRET_ID": "app-db", "AZURE_KEYVAULT_URL": "https://ops.vault.azure.net/",
                           "TASKSHIM_AZURE_KEYVAULT_ENDPOINT": server.url + "/kv",
                           "IDENTITY_ENDPOINT": server.url + "/msi/token", "IDENTITY_HEADER": "container-apps"]
        let stats = try await runtime(["jobs", "stats", "--json"], environment)
        #expect(stats.status == 0, "\(stats.stderr)")
        var wrong = environment
        wrong["IDENTITY_HEADER"] = "guess"
        let refused = try await runtime(["jobs", "stats"], wrong)
        #expect(refused.status == 77 && refused.stderr.contains("managed identity endpoint") && !refused.stderr.contains("guess"), "\(refused.stderr)")
    }
}
}
