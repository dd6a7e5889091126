import Foundation
import Testing
import TestSupport

extension ProcessDrivingTests {
/// Secret references in the environment, resolved by the binary at start-up.
@Suite struct SecretReferenceContractTests {
    @Test func aMountedDatabaseURLIsReadAndItsPasswordNeverPrinted() async throws {
        let directory = try TemporaryDirectory()
        // The test database's URL carries the canary as its password: a mounted secret, as Kubernetes makes it.
        _ = try directory.write("database-url", try TestServers.postgresURL() + "\n")
        let q = "secrets-\(UUID().uuidString.prefix(8))"
        let environment = ["DATABASE_URL_FILE": directory.file("database-url"), "QUEUE_NAME_ALIAS": "env://UNUSED_BUT_SET", "UNUSED_BUT_SET": q,
                           "TASKSHIM_LOG_FORMAT": "json"]
        let added = try await runProcessAsync(RepositoryPaths.runtimeBinary, ["enqueue", "echo", "--queue-name", q], environment: environment)
        #expect(added.status == 0, "\(added.stderr)")
        let worker = try await runProcessAsync(RepositoryPaths.runtimeBinary, ["worker", "--queues", q, "--burst"], environment: environment)
        #expect(worker.status == 0 && worker.stdout.contains(#""jobs":1"#) && worker.stdout.contains("postgres 127.0.0.1"), "\(worker.stdout)")
        // (runProcessAsync fails the test if the canary password appears in any output.)
    }

    @Test func awsSecretsManagerSecretsAreReadWithTheEnvironmentsCredentials() async throws {
        let moto = try await MotoServer()
        let directory = try TemporaryDirectory()
        let queueFile = directory.file("queue.db")
        try await moto.createSecret(name: "prod/queue", value: #"{"url":"sqlite:\#(queueFile)","password":"\#(Canary.value)"}"#)
        let aws = ["AWS_ACCESS_KEY_ID": "AKIDTEST", "AWS_SECRET_ACCESS_KEY": "not-checked-by-moto", "AWS_SESSION_TOKEN": "session",
                   "AWS_REGION": "eu-west-1", "AWS_ENDPOINT_URL": moto.url]
        // The queue URL comes from a JSON field of the secret; another field is the canary, marked secret by the reference.
        var environment = aws
        environment["TASKSHIM_QUEUE_URL"] = "aws-sm://prod/queue#url"
        environment["SOME_SETTING"] = "aws-sm://prod/queue#password"
        environment["TASKSHIM_LOG_FORMAT"] = "json"
        let added = try await runProcessAsync(RepositoryPaths.runtimeBinary, ["enqueue", "echo", "--payload-lines", "-"], environment: environment,
                                              input: Data("{\"setting\":\"x\"}\n".utf8))
        #expect(added.status == 0, "\(added.stderr)")
        #expect(FileManager.default.fileExists(atPath: queueFile), "the queue is where the secret says")
        // A secret that is not there: 78, naming it.
        environment["TASKSHIM_QUEUE_URL"] = "aws-sm://prod/nope#url"
        let missing = try await runProcessAsync(RepositoryPaths.runtimeBinary, ["jobs", "stats"], environment: environment)
        #expect(missing.status == 78 && missing.stderr.contains("aws-sm://prod/nope") && missing.stderr.contains("ResourceNotFoundException"),
                "\(missing.stderr)")
        // No credentials: 78, saying which variables.
        let anonymous = try await runProcessAsync(RepositoryPaths.runtimeBinary, ["jobs", "stats"],
                                                  environment: ["TASKSHIM_QUEUE_URL": "aws-sm://prod/queue#url", "AWS_REGION": "eu-west-1",
                                                                "AWS_EC2_METADATA_DISABLED": "true", "HOME": "/nonexistent"])
        #expect(anonymous.status == 78 && anonymous.stderr.contains("no AWS credentials were found"), "\(anonymous.stderr)")
    }

    /// The container credentials endpoint as ECS and EKS Pod Identity serve it: credentials for the
    /// right Authorization header, 401 otherwise.
    static let credentialsEndpoint = """
        import http.server, json, socketserver
        class H(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                if self.path != "/v1/credentials" or self.headers.get("Authorization") != "pod-token":
                    self.send_response(401); self.end_headers(); return
                body = json.dumps({"AccessKeyId": "ASIAPOD", "SecretAccessKey": "pod-secret", "Token": "pod-session",
                                   "Expiration": "2099-01-01T00:00:00Z"}).encode()
                self.send_response(200); self.send_header("Content-Length", str(len(body))); self.end_headers(); self.wfile.write(body)
            def log_message(self, *args): pass
        server = socketserver.TCPServer(("127.0.0.1", 0), H)
        print("PORT", server.server_address[1], flush=True)
        server.serve_forever()
        """

    @Test func containerCredentialsAreFetchedWithTheirToken() async throws {
        let moto = try await MotoServer()
        let directory = try TemporaryDirectory()
        try await moto.createSecret(name: "pod/queue", value: "sqlite:" + directory.file("pod.db"))
        let endpoint = try PortServer(["python3", "-c", Self.credentialsEndpoint])
        _ = try directory.write("token", "pod-token\n")
        var environment = ["AWS_CONTAINER_CREDENTIALS_FULL_URI": "http://127.0.0.1:\(endpoint.port)/v1/credentials",
                           "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE": directory.file("token"), "AWS_REGION": "eu-west-1",
                           "AWS_ENDPOINT_URL_SECRETS_MANAGER": moto.url, "TASKSHIM_QUEUE_URL": "aws-sm://pod/queue"]
        let stats = try await runProcessAsync(RepositoryPaths.runtimeBinary, ["jobs", "stats", "--json"], environment: environment)
        #expect(stats.status == 0 && FileManager.default.fileExists(atPath: directory.file("pod.db")), "\(stats.stderr)")
        environment["AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE"] = nil
        environment["AWS_CONTAINER_AUTHORIZATION_TOKEN"] = "wrong"
        let refused = try await runProcessAsync(RepositoryPaths.runtimeBinary, ["jobs", "stats"], environment: environment)
        #expect(refused.status == 77 && refused.stderr.contains("refused the request (401)"), "\(refused.stderr)")
    }

    @Test func aReferenceThatCannotBeResolvedStopsTheRunWithItsName() async throws {
        let missing = try await runProcessAsync(RepositoryPaths.runtimeBinary, ["jobs", "stats"],
                                                environment: ["TASKSHIM_QUEUE_URL": "file:///run/secrets/nope", "REDIS_URL": "env://NOT_SET"])
        #expect(missing.status == 78 && missing.stderr.contains("REDIS_URL refers to env://NOT_SET, which is not set"), "\(missing.stderr)")
        let cloud = try await runProcessAsync(RepositoryPaths.runtimeBinary, ["exec", "echo"],
                                              environment: ["TELEMETRY_API_KEY": "gcp-sm://projects/p/secrets/s/versions/1",
                                                            "GOOGLE_APPLICATION_CREDENTIALS": "/nonexistent/key.json"])
        #expect(cloud.status == 78 && cloud.stderr.contains("GOOGLE_APPLICATION_CREDENTIALS=/nonexistent/key.json cannot be read"), "\(cloud.stderr)")
        // --help reads no secret.
        let help = try await runProcessAsync(RepositoryPaths.runtimeBinary, ["jobs", "--help"], environment: ["REDIS_URL": "env://NOT_SET"])
        #expect(help.status == 0)
    }
}
}
