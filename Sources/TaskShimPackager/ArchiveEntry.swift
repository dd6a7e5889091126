import FoundationEssentials
import TaskShimCore

/// A file or directory in an archive: its path inside it (relative, `/`-separated), its bytes, its
/// mode and, for image layers, its owner.
public struct ArchiveEntry: Sendable, Equatable {
    public enum Kind: Sendable, Equatable {
        case file, directory
    }

    public var path: String
    public var contents: Data
    /// Permission bits: 0o755 for programs and directories, 0o644 for the rest.
    public var mode: UInt16
    public var kind: Kind
    /// The user and group id (the same number), in tar layers; zip has none.
    public var owner: UInt32

    public init(path: String, contents: Data, mode: UInt16, kind: Kind = .file, owner: UInt32 = 0) {
        self.path = path
        self.contents = contents
        self.mode = mode
        self.kind = kind
        self.owner = owner
    }

    /// The file at `file`, read, as `path` in the archive.
    public init(path: String, file: String, mode: UInt16) throws(TaskShimError) {
        guard let contents = FileManager.default.contents(atPath: file) else { throw .noInput("\(file) cannot be read.") }
        self.init(path: path, contents: contents, mode: mode)
    }

    /// A directory entry.
    public static func directory(_ path: String, mode: UInt16 = 0o755, owner: UInt32 = 0) -> ArchiveEntry {
        ArchiveEntry(path: path, contents: Data(), mode: mode, kind: .directory, owner: owner)
    }
}
