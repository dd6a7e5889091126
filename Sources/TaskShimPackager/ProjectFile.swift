import FoundationEssentials
import TaskShimCore

/// A file of the user's project to ship (the manifest, a `.sql` handler): where it is and where it goes
/// in the bundle, which is its path relative to the project root.
public struct ProjectFile: Sendable, Equatable {
    public var archivePath: String
    public var source: String

    /// `path` (relative to `root`, or absolute inside it) checked: it exists, is a regular file, and
    /// neither its text nor its symbolic links lead out of `root`. So nothing outside the project gets
    /// into a bundle, and no entry's path can climb out of where the bundle is unpacked.
    public init(_ path: String, root: String) throws(TaskShimError) {
        guard let realRoot = FilePath.resolved(root) else { throw .noInput("The project directory \(root) does not exist.") }
        let joined = path.hasPrefix("/") ? path : FilePath.join(realRoot, path)
        guard let lexical = FilePath.normalized(joined), lexical == realRoot || lexical.hasPrefix(realRoot + "/") else {
            throw .data("\(path) is outside the project (\(root)): a bundle holds only the project's own files.",
                        hint: "Move the file into the project and refer to it by a path inside it.")
        }
        guard let real = FilePath.resolved(lexical) else {
            throw .noInput("\(path) does not exist (looked for \(lexical)).", hint: "Fix the path in the manifest, or add the file.")
        }
        guard real.hasPrefix(realRoot + "/") else {
            throw .data("\(path) is a link to \(real), outside the project (\(root)): a bundle holds only the project's own files.",
                        hint: "Copy the file into the project instead of linking to it.")
        }
        var isDirectory = false
        guard FileManager.default.fileExists(atPath: real, isDirectory: &isDirectory), !isDirectory else {
            throw .data("\(path) is a directory, not a file.", hint: "Name the file itself.")
        }
        archivePath = String(lexical.dropFirst(realRoot.count + 1))
        source = real
    }
}
