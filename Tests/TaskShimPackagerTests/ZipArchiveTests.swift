import Foundation
import Testing
import TaskShimPackager
import TestSupport

/// Zips read back by independent readers: Python's zipfile and Info-ZIP's unzip.
struct ZipArchiveTests {
    let entries = [
        ArchiveEntry(path: "runtime", contents: Data(repeating: 0x41, count: 300_000), mode: 0o755),
        ArchiveEntry(path: "lib/libc.so.6", contents: Data((0..<70_000).map { _ in UInt8.random(in: 0...255) }), mode: 0o644),
        ArchiveEntry(path: "q/naïve report.sql", contents: Data("SELECT 1\n".utf8), mode: 0o644),
        ArchiveEntry(path: "empty", contents: Data(), mode: 0o644),
    ]

    /// Python's view of a zip: names, sizes and modes, after checking every CRC.
    func listing(_ zip: Data) async throws -> String {
        let directory = try TemporaryDirectory()
        let path = try directory.write("a.zip", zip)
        let script = """
            import sys, zipfile
            z = zipfile.ZipFile(sys.argv[1])
            assert z.testzip() is None
            for i in z.infolist():
                print(i.filename, i.file_size, oct(i.external_attr >> 16), i.date_time, i.compress_type, len(z.read(i)))
            """
        let result = try await runProcessAsync("/usr/bin/env", ["python3", "-c", script, path])
        #expect(result.status == 0, "\(result.stderr)")
        return result.stdout
    }

    @Test func pythonReadsEveryEntryWithItsModeAndTime() async throws {
        let zip = try await ZipArchive.write(entries)
        let lines = try await listing(zip).split(separator: "\n")
        #expect(lines == [
            "empty 0 0o100644 (1980, 1, 1, 0, 0, 0) 0 0",
            "lib/libc.so.6 70000 0o100644 (1980, 1, 1, 0, 0, 0) 0 70000",
            "q/naïve report.sql 9 0o100644 (1980, 1, 1, 0, 0, 0) 0 9",
            "runtime 300000 0o100755 (1980, 1, 1, 0, 0, 0) 8 300000",
        ], "sorted; compressible data deflated (8), the rest stored (0)")
        #expect(zip.count < 80_000)
    }

    @Test func unzipTestsItAndKeepsTheModes() async throws {
        let directory = try TemporaryDirectory()
        let path = try directory.write("a.zip", try await ZipArchive.write(entries))
        let tested = try await runProcessAsync("/usr/bin/env", ["unzip", "-t", path])
        #expect(tested.status == 0 && tested.stdout.contains("No errors detected"), "\(tested.stdout)\(tested.stderr)")
        let unpacked = try await runProcessAsync("/usr/bin/env", ["unzip", "-q", path, "-d", directory.file("out")])
        #expect(unpacked.status == 0)
        let attributes = try FileManager.default.attributesOfItem(atPath: directory.file("out/runtime"))
        #expect((attributes[.posixPermissions] as? Int) == 0o755)
        #expect(FileManager.default.contents(atPath: directory.file("out/runtime")) == entries[0].contents)
    }

    @Test func theSameEntriesInAnyOrderGiveTheSameBytes() async throws {
        let first = try await ZipArchive.write(entries)
        let second = try await ZipArchive.write(entries.reversed())
        #expect(first == second)
    }

    @Test func sourceDateEpochSetsTheTime() async throws {
        // 2026-12-02T15:04:06Z (zip keeps even seconds).
        let zip = try await ZipArchive.write([entries[2]], modified: Date(timeIntervalSince1970: 1_796_223_846))
        #expect(try await listing(zip).contains("(2026, 12, 2, 15, 4, 6)"))
    }
}
