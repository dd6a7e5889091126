import Foundation
import Testing
import TestSupport
@testable import TaskShimCore
@testable import TaskShimSecrets

struct SecretReferenceTests {
    @Test func everySourceIsParsedWithItsOptionalJSONKey() throws {
        #expect(try SecretReference(parsing: "env://DB_PASSWORD") == SecretReference(source: .environment, locator: "DB_PASSWORD"))
        #expect(try SecretReference(parsing: "file:///var/run/secrets/db") == SecretReference(source: .file, locator: "/var/run/secrets/db"))
        #expect(try SecretReference(parsing: "aws-sm://prod/db#password") == SecretReference(source: .awsSecretsManager, locator: "prod/db", jsonKey: "password"))
        #expect(try SecretReference(parsing: "aws-sm://arn:aws:secretsmanager:eu-west-1:123456789012:secret:db-AbCdEf")?.locator
                == "arn:aws:secretsmanager:eu-west-1:123456789012:secret:db-AbCdEf")
        #expect(try SecretReference(parsing: "gcp-sm://projects/p/secrets/s/versions/latest")?.source == .gcpSecretManager)
        #expect(try SecretReference(parsing: "AZURE-KV://vault/name")?.locator == "vault/name")
    }

    @Test func ordinaryValuesAreNotReferences() throws {
        for value in ["hunter2", "postgres://u:p@db/app", "https://example.com/x#y", "sqlite:///tmp/x.db", "", "://x"] {
            #expect(try SecretReference(parsing: value) == nil, "\(value)")
        }
    }

    @Test func malformedReferencesAreErrorsNotValues() {
        for value in ["env://", "env://A-B", "file://relative/path", "gcp-sm://projects/p/secrets/s", "azure-kv://vault", "aws-sm://x#",
                      "gcp-sm://projects/p/secrets/a?b=c/versions/1", "gcp-sm://projects/p/secrets/%2e%2e/versions/1", "azure-kv://vault/a b",
                      "azure-kv://vault/a?x=1", "azure-kv:///name"] {
            #expect(throws: TaskShimError.self, "\(value)") { _ = try SecretReference(parsing: value) }
        }
    }
}

struct SecretResolverTests {
    @Test func referencesAndFileVariablesAreResolvedAndMarkedSecret() async throws {
        let directory = try TemporaryDirectory()
        try directory.write("key", "\(Canary.value)\n")
        try directory.write("db.json", #"{"password":"s3cret","port":5432}"#)
        try directory.write("url", "postgres://app:pw@db/app\n")
        let environment = Environment(["TELEMETRY_API_KEY": "file://" + directory.file("key"),
                                       "DB_PASSWORD": "file://" + directory.file("db.json") + "#password",
                                       "DB_PORT": "file://" + directory.file("db.json") + "#port",
                                       "ALIAS": "env://PLAIN", "PLAIN": "value",
                                       "DATABASE_URL_FILE": directory.file("url"),
                                       "TASKSHIM_CA_FILE": directory.file("key"),   // a path setting, not a secret to fill TASKSHIM_CA with
                                       "AWS_WEB_IDENTITY_TOKEN_FILE": directory.file("key"),  // the platform's own _FILE: read by its SDKs, and by runtime
                                       "LOG_LEVEL": "info"])
        let resolved = try await SecretResolver().resolve(environment)
        #expect(resolved["TELEMETRY_API_KEY"] == Canary.value, "one trailing newline dropped")
        #expect(resolved["DB_PASSWORD"] == "s3cret" && resolved["DB_PORT"] == "5432")
        #expect(resolved["ALIAS"] == "value")
        #expect(resolved["DATABASE_URL"] == "postgres://app:pw@db/app")
        #expect(resolved["TASKSHIM_CA"] == nil && resolved["AWS_WEB_IDENTITY_TOKEN"] == nil && resolved["LOG_LEVEL"] == "info")
        #expect(resolved.secretNames == ["TELEMETRY_API_KEY", "DB_PASSWORD", "DB_PORT", "ALIAS", "DATABASE_URL"])
        // Marked secret: redacted even where the name does not say so.
        let redactor = Redactor()
        redactor.addSecrets(from: resolved)
        #expect(!redactor.redact("alias=value port=5432 key=\(Canary.value)").contains(Canary.value))
        #expect(!redactor.redact("alias=value").contains("value"))
    }

    @Test func aSQLiteFileURLIsNotTakenForAReference() async throws {
        let environment = Environment(["DATABASE_URL": "file:///tmp/app.db", "TASKSHIM_QUEUE_URL": "file:///tmp/q.db"])
        let resolved = try await SecretResolver().resolve(environment)
        #expect(resolved["DATABASE_URL"] == "file:///tmp/app.db" && resolved.secretNames.isEmpty)
    }

    @Test func whatCannotBeResolvedIsAConfigurationErrorNamingItButNotTheSecret() async throws {
        let directory = try TemporaryDirectory()
        try directory.write("db.json", #"{"user":"\#(Canary.value)"}"#)
        let cases: [([String: String], String)] = [
            (["API_TOKEN": "file:///nonexistent/token"], "API_TOKEN refers to the file /nonexistent/token"),
            (["API_TOKEN": "env://MISSING"], "API_TOKEN refers to env://MISSING, which is not set"),
            (["DB_PASSWORD": "file://" + directory.file("db.json") + "#password"], "which has no such text field"),
            (["SECRETS_PROVIDER": "azure", "DATABASE_SECRET_ID": "db"], "DATABASE_SECRET_ID=db names a Key Vault secret, but not its vault"),
            (["DB_PASSWORD": "aws-sm://prod/db#password", "AWS_EC2_METADATA_DISABLED": "true", "HOME": "/nonexistent"], "no AWS credentials were found"),
            (["DB_PASSWORD": "gcp-sm://projects/p/secrets"], "DB_PASSWORD: gcp-sm://projects/p/secrets is not"),
        ]
        for (values, message) in cases {
            do {
                _ = try await SecretResolver().resolve(Environment(values))
                Issue.record("resolved \(values)")
            } catch {
                #expect(error.status == .configuration && error.description.contains(message), "\(error)")
                #expect(!error.description.contains(Canary.value), "the secret's value is not in the message")
            }
        }
    }

    @Test func nothingIsReadWithoutReferences() async throws {
        let environment = Environment(["PATH": "/usr/bin", "HOME": "/root"])
        let resolved = try await SecretResolver().resolve(environment)
        #expect(resolved.values == environment.values && resolved.secretNames.isEmpty)
    }
}
