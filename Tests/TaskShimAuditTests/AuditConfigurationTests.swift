import Foundation
import Testing
@testable import TaskShimAudit
@testable import TaskShimCore

@Suite struct AuditConfigurationTests {
    @Test func theSeedsVariablesTurnTheirSinksOn() throws {
        let configuration = try AuditConfiguration(environment: Environment([
            "AUDIT_LOG_STDOUT": "true", "AUDIT_LOG_TO_FILE": "/var/log/audit.jsonl",
            "SPLUNK_HEC_URL": "https://splunk.example.com:8088", "SPLUNK_HEC_TOKEN": "t",
            "AUDIT_WEBHOOK_URL": "https://hooks.example.com/audit",
        ]))
        #expect(configuration.sinks == [.stdout, .file, .splunk, .webhook])
        #expect(configuration.filePath == "/var/log/audit.jsonl")
        #expect(configuration.splunk?.url == "https://splunk.example.com:8088/services/collector/event", "a bare host means the event endpoint")
        #expect(configuration.webhook?.secret == nil)
        #expect(!(try AuditConfiguration(environment: Environment([:]))).isEnabled)
    }

    @Test func auditSinksChoosesExactlyAndNamesWhatIsMissing() throws {
        let only = try AuditConfiguration(environment: Environment(["AUDIT_SINKS": "stdout", "AUDIT_LOG_TO_FILE": "x.jsonl"]))
        #expect(only.sinks == [.stdout])
        #expect(throws: TaskShimError.configuration("AUDIT_SINKS has splunk but SPLUNK_HEC_URL is not set.",
                                                   hint: "Set it to the HTTP Event Collector, for example https://splunk.example.com:8088.")) {
            _ = try AuditConfiguration(environment: Environment(["AUDIT_SINKS": "splunk"]))
        }
        do {
            _ = try AuditConfiguration(environment: Environment(["AUDIT_SINKS": "stdout,kafka"]))
            Issue.record("an unknown sink was accepted")
        } catch {
            #expect(error.message.contains("kafka") && error.status == .configuration)
        }
        do {
            _ = try AuditConfiguration(environment: Environment(["SPLUNK_HEC_URL": "https://s:8088"]))
            Issue.record("HEC without a token was accepted")
        } catch {
            #expect(error.message.contains("SPLUNK_HEC_TOKEN"))
        }
    }

    @Test func webhookSecretsInTheStandardFormAreDecoded() throws {
        let configuration = try AuditConfiguration(environment: Environment([
            "AUDIT_WEBHOOK_URL": "http://127.0.0.1:9/", "AUDIT_WEBHOOK_SECRET": "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
        ]))
        #expect(configuration.webhook?.secret == Data(base64Encoded: "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"))
        #expect(throws: TaskShimError.self) {
            _ = try AuditConfiguration(environment: Environment(["AUDIT_WEBHOOK_URL": "http://h/", "AUDIT_WEBHOOK_SECRET": "whsec_***"]))
        }
        #expect(throws: TaskShimError.self) {
            _ = try AuditConfiguration(environment: Environment(["AUDIT_LOG_STDOUT": "true", "TASKSHIM_AUDIT_OVERFLOW": "drop-newest"]))
        }
    }
}
