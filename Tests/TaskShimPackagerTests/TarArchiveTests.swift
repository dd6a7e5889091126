import Foundation
import Testing
import TaskShimPackager
import TestSupport

/// Tar layers read back by Python's tarfile.
struct TarArchiveTests {
    @Test func pythonReadsEntriesOwnersModesAndTheParentsAdded() async throws {
        let long = String(repeating: "d", count: 90) + "/" + String(repeating: "e", count: 90) + "/zone"
        let entries = [
            ArchiveEntry(path: "usr/local/bin/runtime", contents: Data(repeating: 7, count: 1000), mode: 0o755),
            .directory("home/taskshim", owner: 65532),
            .directory("tmp", mode: 0o1777),
            ArchiveEntry(path: long, contents: Data("x".utf8), mode: 0o644),
        ]
        let directory = try TemporaryDirectory()
        let path = try directory.write("layer.tar", try TarArchive.write(entries, modified: Date(timeIntervalSince1970: 1_796_223_846)))
        let script = """
            import sys, tarfile
            with tarfile.open(sys.argv[1]) as t:
                for m in t.getmembers():
                    data = t.extractfile(m).read() if m.isfile() else b""
                    print(m.name, "dir" if m.isdir() else "file", oct(m.mode), m.uid, m.gid, m.size, m.mtime, len(data), m.uname == "")
            """
        let result = try await runProcessAsync("/usr/bin/env", ["python3", "-c", script, path])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout.split(separator: "\n") == [
            "\(String(repeating: "d", count: 90)) dir 0o755 0 0 0 1796223846 0 True",
            "\(String(repeating: "d", count: 90))/\(String(repeating: "e", count: 90)) dir 0o755 0 0 0 1796223846 0 True",
            "\(long) file 0o644 0 0 1 1796223846 1 True",
            "home dir 0o755 0 0 0 1796223846 0 True",
            "home/taskshim dir 0o755 65532 65532 0 1796223846 0 True",
            "tmp dir 0o1777 0 0 0 1796223846 0 True",
            "usr dir 0o755 0 0 0 1796223846 0 True",
            "usr/local dir 0o755 0 0 0 1796223846 0 True",
            "usr/local/bin dir 0o755 0 0 0 1796223846 0 True",
            "usr/local/bin/runtime file 0o755 0 0 1000 1796223846 1000 True",
        ], "\(result.stdout)")
        #expect(try TarArchive.write(entries) == TarArchive.write(entries.reversed()))
    }

    @Test func aPathTarCannotHoldIsRefused() {
        let entry = ArchiveEntry(path: String(repeating: "a", count: 120), contents: Data(), mode: 0o644)
        #expect(throws: (any Error).self) { try TarArchive.write([entry]) }
    }
}
