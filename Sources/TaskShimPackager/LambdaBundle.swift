import FoundationEssentials
import TaskShimClients
import TaskShimCore

/// What `runtime package lambda` zips: `bootstrap` at the root (the static launcher), the `runtime`
/// binary, under `lib/` every shared library it needs and every C library it opens on first use
/// that this host has (with theirs), the dynamic loader and glibc included, and the project's files.
/// `bootstrap` starts the binary through the bundled loader, so the bundle runs whatever the host's glibc is.
public struct LambdaBundle: Sendable {
    /// Lambda's sizes for a function's code.
    public struct Limits: Sendable {
        /// A zip uploaded directly (`--zip-file`); larger ones go through S3.
        public var zipped = 50 * 1024 * 1024
        /// The unzipped code, however it is uploaded.
        public var unzipped = 250 * 1024 * 1024
        public init() {}
    }

    public var architecture: SharedLibraries.Architecture
    public var binary: String
    public var bootstrap: String
    public var libraries: [SharedLibraries.Library]
    public var files: [ProjectFile]

    /// Finds what the bundle holds. `architecture`, when given, must be the binary's.
    public static func collect(binary: String, bootstrap: String, files: [ProjectFile],
                               architecture: SharedLibraries.Architecture? = nil) throws(TaskShimError) -> LambdaBundle {
        let found = try SharedLibraries.Architecture(binary: binary, requested: architecture)
        guard let launcher = SharedLibraries.elfHeader(bootstrap) else {
            throw .noInput("The Lambda entry point \(bootstrap) cannot be read.",
                           hint: "It is built with the runtime (swift build -c release --product bootstrap) and found next to it; or pass --bootstrap.")
        }
        guard SharedLibraries.Architecture(elf: launcher) == found else {
            throw .data("\(bootstrap) is not a \(found.rawValue) program like \(binary).", hint: "Build bootstrap for \(found.rawValue).")
        }
        let libraries = try SharedLibraries.closure(of: binary, architecture: found)
        return LambdaBundle(architecture: found, binary: binary, bootstrap: bootstrap, libraries: libraries, files: files)
    }

    /// The bundle's files, read.
    public func entries() throws(TaskShimError) -> [ArchiveEntry] {
        var entries = [try ArchiveEntry(path: "bootstrap", file: bootstrap, mode: 0o755), try ArchiveEntry(path: "runtime", file: binary, mode: 0o755)]
        for library in libraries {
            entries.append(try ArchiveEntry(path: "lib/" + library.name, file: library.path, mode: library.name == architecture.loaderName ? 0o755 : 0o644))
        }
        for file in files where !entries.contains(where: { $0.path == file.archivePath }) {
            entries.append(try ArchiveEntry(path: file.archivePath, file: file.source, mode: 0o644))
        }
        return entries
    }

    /// The zip of `entries`, refused when unzipped it is larger than Lambda takes.
    public static func zip(_ entries: [ArchiveEntry], limits: Limits = Limits(), modified: Date? = nil) async throws -> Data {
        let unzipped = entries.reduce(0) { $0 + $1.contents.count }
        if unzipped > limits.unzipped {
            let largest = entries.sorted { $0.contents.count > $1.contents.count }.prefix(3)
                .map { "\($0.path) \(ByteCount.format($0.contents.count))" }.joined(separator: ", ")
            throw TaskShimError.data("The bundle is \(ByteCount.format(unzipped)) unzipped, over Lambda's limit of \(ByteCount.format(limits.unzipped)) (largest: \(largest)).",
                                     hint: "Ship it as a container image instead (runtime package image), or leave large files out of the project.")
        }
        return try await ZipArchive.write(entries, modified: modified)
    }
}
