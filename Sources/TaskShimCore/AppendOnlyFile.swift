import FoundationEssentials
#if canImport(Glibc)
import Glibc
#endif

/// A file opened for appending with plain system calls: one `write(2)` per append (so a killed process
/// leaves at most one torn line, never an interleaving), `fsync(2)` when asked. For the audit trail's
/// files; Foundation's FileHandle would pull all of Foundation into the binary.
public final class AppendOnlyFile: @unchecked Sendable {
    public let path: String
    private var descriptor: Int32
    /// Bytes in the file.
    public private(set) var size: Int

    /// Opens `path` for appending, creating it (mode 0600) when missing.
    public init(path: String) throws(TaskShimError) {
        self.path = path
        descriptor = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0o600)
        guard descriptor >= 0 else { throw Self.error("open", path) }
        var status = stat()
        guard fstat(descriptor, &status) == 0 else {
            let error = Self.error("inspect", path)
            Glibc.close(descriptor)
            throw error
        }
        size = Int(status.st_size)
    }

    deinit { close() }

    public func append(_ bytes: [UInt8]) throws(TaskShimError) {
        guard descriptor >= 0 else { throw TaskShimError(.software, "\(path) was written after it was closed.") }
        let failed: Bool = bytes.withUnsafeBytes { buffer in
            var offset = 0
            while offset < buffer.count {
                let n = Glibc.write(descriptor, buffer.baseAddress! + offset, buffer.count - offset)
                if n < 0 {
                    if errno == EINTR { continue }
                    return true
                }
                offset += n
            }
            return false
        }
        if failed {
            let error = Self.error("write", path)
            // No torn fragment for the next append to run into.
            _ = ftruncate(descriptor, off_t(size))
            throw error
        }
        size += bytes.count
    }

    /// Forces what was written to disk.
    public func sync() {
        if descriptor >= 0 { _ = fsync(descriptor) }
    }

    public func close() {
        if descriptor >= 0 { Glibc.close(descriptor) }
        descriptor = -1
    }

    /// Up to `count` bytes of the file at `path` from `offset` (fewer at its end); nil when it cannot be read.
    public static func read(_ path: String, offset: Int, count: Int) -> [UInt8]? {
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else { return nil }
        defer { Glibc.close(descriptor) }
        var bytes = [UInt8](repeating: 0, count: count)
        var filled = 0
        while filled < count {
            let n = bytes.withUnsafeMutableBytes { pread(descriptor, $0.baseAddress! + filled, count - filled, off_t(offset + filled)) }
            if n < 0 {
                if errno == EINTR { continue }
                return nil
            }
            if n == 0 { break }
            filled += n
        }
        bytes.removeSubrange(filled...)
        return bytes
    }

    /// Cuts the file at `path` to `size` bytes.
    public static func truncate(_ path: String, to size: Int) throws(TaskShimError) {
        guard Glibc.truncate(path, off_t(size)) == 0 else { throw error("truncate", path) }
    }

    /// The size of the file at `path`, nil when it does not exist.
    public static func size(of path: String) -> Int? {
        var status = stat()
        guard stat(path, &status) == 0 else { return nil }
        return Int(status.st_size)
    }

    private static func error(_ verb: String, _ path: String) -> TaskShimError {
        let reason = String(cString: strerror(errno))
        return TaskShimError(.ioError, "Cannot \(verb) \(path): \(reason).", hint: "Check the folder's permissions and free space.")
    }
}
