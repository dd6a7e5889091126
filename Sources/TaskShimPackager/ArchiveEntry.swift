import FoundationEssentials

/// A file in an archive: its path inside it (relative, `/`-separated), its bytes and its mode.
public struct ArchiveEntry: Sendable, Equatable {
    public var path: String
    public var contents: Data
    /// Permission bits: 0o755 for programs, 0o644 for the rest.
    public var mode: UInt16

    public init(path: String, contents: Data, mode: UInt16) {
        self.path = path
        self.contents = contents
        self.mode = mode
    }
}
