import FoundationEssentials
import Logging
import TaskShimCore

/// The `file` sink: events as JSON lines appended to one file, forced to disk by the fsync policy and
/// rotated by size the way logrotate does (`audit.jsonl` becomes `audit.jsonl.1`, `.1` becomes `.2`...,
/// keeping `keep` old files).
final class AuditFile: @unchecked Sendable {
    let path: String
    let maxBytes: Int
    let keep: Int
    let fsync: AuditFsync
    private let lock = Lock()
    // Guarded by `lock`.
    private var file: AppendOnlyFile
    private var dirty = false

    init(path: String, maxBytes: Int, keep: Int, fsync: AuditFsync) throws(TaskShimError) {
        self.path = path
        self.maxBytes = maxBytes
        self.keep = keep
        self.fsync = fsync
        file = try Self.open(path)
    }

    private static func open(_ path: String) throws(TaskShimError) -> AppendOnlyFile {
        do {
            return try AppendOnlyFile(path: path)
        } catch {
            throw TaskShimError(.ioError, "Cannot open the audit file \(path): \(error.message)",
                                hint: "Check that its folder exists and is writable, or change AUDIT_LOG_TO_FILE.")
        }
    }

    func append(_ line: String) throws(TaskShimError) {
        var bytes = Array(line.utf8)
        bytes.append(UInt8(ascii: "\n"))
        do {
            try lock.withLock {
                if file.size > 0, file.size + bytes.count > maxBytes { try rotate() }
                try file.append(bytes)
                if fsync == .always { file.sync() } else { dirty = true }
            }
        } catch {
            throw TaskShimError(.ioError, "Cannot write the audit file \(path): \(error).", hint: "Check the free space of its file system.")
        }
    }

    private func rotate() throws {
        if fsync != .never { file.sync() }
        file.close()
        let manager = FileManager.default
        if keep == 0 {
            try? manager.removeItem(atPath: path)
        } else {
            try? manager.removeItem(atPath: "\(path).\(keep)")
            for index in stride(from: keep - 1, through: 1, by: -1) where manager.fileExists(atPath: "\(path).\(index)") {
                try manager.moveItem(atPath: "\(path).\(index)", toPath: "\(path).\(index + 1)")
            }
            try manager.moveItem(atPath: path, toPath: "\(path).1")
        }
        file = try Self.open(path)
    }

    func sync() {
        lock.withLock {
            guard dirty else { return }
            dirty = false
            file.sync()
        }
    }
}
