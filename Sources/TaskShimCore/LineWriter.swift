import FoundationEssentials
#if canImport(Glibc)
import Glibc
#endif

/// Somewhere whole lines can be written atomically with respect to each other.
public protocol LineWriter: Sendable {
    /// Writes `line` followed by a newline.
    func write(line: String)
    /// Writes each line followed by a newline, as one write where the destination allows.
    func write(lines: [String])
}

extension LineWriter {
    public func write(lines: [String]) {
        for line in lines { write(line: line) }
    }
}

/// Writes lines to a file descriptor (stdout, stderr) with one `write(2)` per line, so lines from
/// concurrent tasks never interleave and nothing sits in a buffer when the process is frozen or killed.
public final class FileDescriptorWriter: LineWriter, @unchecked Sendable {
    public static let standardOutput = FileDescriptorWriter(fileDescriptor: 1)
    public static let standardError = FileDescriptorWriter(fileDescriptor: 2)

    private let fileDescriptor: Int32
    private let lock = Lock()

    public init(fileDescriptor: Int32) {
        self.fileDescriptor = fileDescriptor
    }

    /// Whether the descriptor is a terminal.
    public var isTerminal: Bool { isatty(fileDescriptor) == 1 }

    public func write(line: String) {
        var bytes = Array(line.utf8)
        bytes.append(0x0A)
        writeAll(bytes)
    }

    public func write(lines: [String]) {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(lines.reduce(0) { $0 + $1.utf8.count + 1 })
        for line in lines {
            bytes.append(contentsOf: line.utf8)
            bytes.append(0x0A)
        }
        writeAll(bytes)
    }

    private func writeAll(_ bytes: [UInt8]) {
        lock.withLock {
        bytes.withUnsafeBytes { buffer in
            var offset = 0
            while offset < buffer.count {
                let n = Glibc.write(fileDescriptor, buffer.baseAddress! + offset, buffer.count - offset)
                if n < 0 {
                    if errno == EINTR { continue }
                    return  // stdout closed: nothing sensible left to do with the output
                }
                offset += n
            }
        }
        }
    }
}

/// Collects lines in memory; for tests and for embedders that want the output.
public final class MemoryLineWriter: LineWriter, Sendable {
    private let lock = Lock()
    nonisolated(unsafe) private var storage: [String] = []

    public init() {}

    public func write(line: String) {
        lock.withLock { storage.append(line) }
    }

    public var lines: [String] {
        lock.withLock { storage }
    }
}
