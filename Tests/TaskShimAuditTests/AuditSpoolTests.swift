import Foundation
import Logging
import Testing
import TestSupport
@testable import TaskShimAudit
@testable import TaskShimCore

@Suite struct AuditSpoolTests {
    let logger = Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() })

    func spool(_ directory: TemporaryDirectory, consumers: [String] = ["a"], maxBytes: Int = 1 << 20, segmentBytes: Int = 4096,
               overflow: AuditSpool.Overflow = .dropOldest) throws -> AuditSpool {
        try AuditSpool(AuditSpool.Configuration(directory: directory.path, maxBytes: maxBytes, segmentBytes: segmentBytes,
                                                overflow: overflow, fsync: .never),
                       consumers: consumers, logger: logger, lockWait: .milliseconds(100))
    }

    func text(_ batch: AuditSpool.Batch?) -> [String] { batch?.lines.map { String(decoding: $0, as: UTF8.self) } ?? [] }

    @Test func eachConsumerReadsEveryEventInOrderAcrossSegments() throws {
        let directory = try TemporaryDirectory()
        let spool = try spool(directory, consumers: ["a", "b"])
        let lines = (0..<300).map { #"{"n":\#($0),"pad":"\#(String(repeating: "x", count: 40))"}"# }
        for line in lines { try spool.append(line) }
        let segments = try FileManager.default.contentsOfDirectory(atPath: directory.path).filter { $0.hasPrefix("seg-") }
        #expect(segments.count > 3, "300 events of ~60 bytes span several 4 KiB segments")
        for consumer in ["a", "b"] {
            var seen: [String] = []
            while let batch = spool.read(consumer, maxEvents: 7) {
                seen += text(batch)
                spool.commit(consumer, batch.end)
            }
            #expect(seen == lines)
            #expect(spool.isDrained(consumer))
        }
        let left = try FileManager.default.contentsOfDirectory(atPath: directory.path).filter { $0.hasPrefix("seg-") }
        #expect(left.count == 1, "segments both consumers passed are deleted: \(left)")
    }

    @Test func aReopenedSpoolResumesAtTheCursorAndCutsATornLine() throws {
        let directory = try TemporaryDirectory()
        do {
            let first = try spool(directory)
            for n in 0..<5 { try first.append(#"{"n":\#(n)}"#) }
            let batch = try #require(first.read("a", maxEvents: 2))
            first.commit("a", batch.end)
        }
        // A process killed in the middle of a write leaves half a line.
        let segment = AuditSpool.path(directory.path, 1)
        let handle = try #require(FileHandle(forWritingAtPath: segment))
        _ = try handle.seekToEnd()
        try handle.write(contentsOf: Data(#"{"n":5,"half"#.utf8))
        try handle.close()

        let second = try spool(directory)
        try second.append(#"{"n":6}"#)
        #expect(text(second.read("a", maxEvents: 10)) == [#"{"n":2}"#, #"{"n":3}"#, #"{"n":4}"#, #"{"n":6}"#])
    }

    @Test func aNewConsumerStartsAtTheOldestEventKept() throws {
        let directory = try TemporaryDirectory()
        do {
            let first = try spool(directory, consumers: ["a"])
            try first.append(#"{"n":1}"#)
        }
        let second = try spool(directory, consumers: ["a", "b"])
        #expect(text(second.read("b", maxEvents: 10)) == [#"{"n":1}"#])
    }

    @Test func aFullSpoolDropsTheOldestUndeliveredEventsAndCountsThem() throws {
        let directory = try TemporaryDirectory()
        let spool = try spool(directory, maxBytes: 16384, segmentBytes: 4096)
        let line = #"{"pad":"\#(String(repeating: "y", count: 90))"}"#  // 100 bytes with its newline
        for _ in 0..<400 { try spool.append(line) }
        #expect(spool.dropped > 0)
        #expect(spool.backlog("a") <= 16384)
        var kept = 0
        while let batch = spool.read("a", maxEvents: 100) {
            kept += batch.lines.count
            spool.commit("a", batch.end)
        }
        #expect(kept + spool.dropped == 400, "every event is either kept or counted as dropped")
    }

    @Test func aFullSpoolSetToRefuseThrowsATemporaryError() throws {
        let directory = try TemporaryDirectory()
        let spool = try spool(directory, maxBytes: 16384, overflow: .refuse)
        let line = String(repeating: "z", count: 99)
        #expect(throws: TaskShimError.self) {
            for _ in 0..<400 { try spool.append(line) }
        }
        do {
            try spool.append(line)
            Issue.record("a full spool accepted an event")
        } catch {
            #expect(error.status == .temporaryFailure)
            #expect(error.message.contains("full"))
        }
        // Delivering makes room again.
        while let batch = spool.read("a", maxEvents: 100) { spool.commit("a", batch.end) }
        try spool.append(line)
    }

    @Test func aSecondProcessCannotOpenASpoolInUse() throws {
        let directory = try TemporaryDirectory()
        let first = try spool(directory)
        #expect(throws: TaskShimError.self) { _ = try spool(directory) }
        _ = first
    }
}
