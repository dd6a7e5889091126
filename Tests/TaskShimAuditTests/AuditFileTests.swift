import Foundation
import Testing
import TestSupport
@testable import TaskShimAudit

@Suite struct AuditFileTests {
    @Test func rotatesBySizeKeepingTheConfiguredNumberOfOldFiles() throws {
        let directory = try TemporaryDirectory()
        let path = directory.file("audit.jsonl")
        let file = try AuditFile(path: path, maxBytes: 4096, keep: 2, fsync: .always)
        let line = #"{"pad":"\#(String(repeating: "a", count: 90))"}"#  // 100 bytes with the newline
        for _ in 0..<200 { try file.append(line) }
        let names = try FileManager.default.contentsOfDirectory(atPath: directory.path).sorted()
        #expect(names == ["audit.jsonl", "audit.jsonl.1", "audit.jsonl.2"])
        for name in names {
            let text = try String(contentsOfFile: directory.file(name), encoding: .utf8)
            #expect(text.utf8.count <= 4096)
            #expect(text.split(separator: "\n").allSatisfy { $0 == Substring(line) }, "only whole lines in \(name)")
        }
        #expect(try String(contentsOfFile: directory.file("audit.jsonl.1"), encoding: .utf8).split(separator: "\n").count == 40)
    }

    @Test func appendsToAnExistingFile() throws {
        let directory = try TemporaryDirectory()
        let path = try directory.write("audit.jsonl", "{\"n\":1}\n")
        try AuditFile(path: path, maxBytes: 1 << 20, keep: 1, fsync: .never).append("{\"n\":2}")
        #expect(try String(contentsOfFile: path, encoding: .utf8) == "{\"n\":1}\n{\"n\":2}\n")
    }

    @Test func aFileThatCannotBeCreatedIsAnErrorNamingIt() {
        do {
            _ = try AuditFile(path: "/nonexistent-folder/audit.jsonl", maxBytes: 1 << 20, keep: 1, fsync: .never)
            Issue.record("no error")
        } catch {
            #expect(error.message.contains("/nonexistent-folder/audit.jsonl"))
        }
    }
}
