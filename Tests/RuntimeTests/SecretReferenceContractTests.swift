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

    @Test func aReferenceThatCannotBeResolvedStopsTheRunWithItsName() async throws {
        let missing = try await runProcessAsync(RepositoryPaths.runtimeBinary, ["jobs", "stats"],
                                                environment: ["TASKSHIM_QUEUE_URL": "file:///run/secrets/nope", "REDIS_URL": "env://NOT_SET"])
        #expect(missing.status == 78 && missing.stderr.contains("REDIS_URL refers to env://NOT_SET, which is not set"), "\(missing.stderr)")
        let cloud = try await runProcessAsync(RepositoryPaths.runtimeBinary, ["exec", "echo"], environment: ["TELEMETRY_API_KEY": "aws-sm://prod/telemetry#key"])
        #expect(cloud.status == 78 && cloud.stderr.contains("cannot read aws-sm:// secrets yet"), "\(cloud.stderr)")
        // --help reads no secret.
        let help = try await runProcessAsync(RepositoryPaths.runtimeBinary, ["jobs", "--help"], environment: ["REDIS_URL": "env://NOT_SET"])
        #expect(help.status == 0)
    }
}
}
