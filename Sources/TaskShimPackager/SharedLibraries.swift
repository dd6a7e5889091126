import FoundationEssentials
#if canImport(Glibc)
import Glibc
#endif
import TaskShimClients
import TaskShimCore

/// The shared libraries a program needs, as this host's dynamic loader resolves them (what `ldd`
/// shows: the loader run with `--list`), including the loader itself.
public enum SharedLibraries {
    /// A CPU a bundle is built for, read from a binary's ELF header.
    public enum Architecture: String, Sendable, CaseIterable {
        case x86_64, arm64

        /// The loader's file name, as Lambda and Debian name it.
        public var loaderName: String { self == .x86_64 ? "ld-linux-x86-64.so.2" : "ld-linux-aarch64.so.1" }
        /// Where this architecture's loader is on a Debian or Amazon Linux host.
        var loaderPaths: [String] { self == .x86_64 ? ["/lib64/ld-linux-x86-64.so.2"] : ["/lib/ld-linux-aarch64.so.1", "/lib64/ld-linux-aarch64.so.1"] }
        /// The name Docker and OCI use.
        public var ociName: String { self == .x86_64 ? "amd64" : "arm64" }

        /// The architecture `binary` is built for, which must be `requested` when one is.
        public init(binary: String, requested: Architecture?) throws(TaskShimError) {
            guard let header = SharedLibraries.elfHeader(binary) else { throw .noInput("The binary \(binary) cannot be read.") }
            guard let found = Architecture(elf: header) else {
                throw .data("\(binary) is not a 64-bit x86-64 or AArch64 Linux program.", hint: "Give the `runtime` binary built for Linux (--binary).")
            }
            if let requested, requested != found {
                throw .usage("--arch \(requested.rawValue), but \(binary) is built for \(found.rawValue).",
                             hint: "Build runtime for \(requested.rawValue) (swift build --swift-sdk ... or on such a host) and pass it with --binary.")
            }
            self = found
        }

        /// The architecture of the ELF file `bytes`, or nil when it is not a 64-bit ELF file for x86-64 or AArch64.
        public init?(elf bytes: Data) {
            guard bytes.count > 20, bytes.prefix(4) == Data([0x7F, 0x45, 0x4C, 0x46]), bytes[bytes.startIndex + 4] == 2 else { return nil }
            let machine = UInt16(bytes[bytes.startIndex + 18]) | UInt16(bytes[bytes.startIndex + 19]) << 8
            switch machine {
            case 62: self = .x86_64
            case 183: self = .arm64
            default: return nil
            }
        }
    }

    /// A library: the name the program asks for (its soname) and the file that answers it here.
    public struct Library: Sendable, Equatable {
        public var name: String
        public var path: String
    }

    /// This host's loader for `architecture`.
    public static func loader(for architecture: Architecture) throws(TaskShimError) -> String {
        guard let path = architecture.loaderPaths.first(where: { FileManager.default.fileExists(atPath: $0) }) else {
            throw .configuration("This host has no \(architecture.rawValue) dynamic loader, so it cannot find the libraries of a \(architecture.rawValue) binary.",
                                 hint: "Package on a \(architecture.rawValue) host (or a container of that architecture).")
        }
        return path
    }

    /// The start of the file at `path`: enough for an ELF header and its program headers, without
    /// reading a 57 MB binary for them. Nil when it cannot be read.
    public static func elfHeader(_ path: String) -> Data? {
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else { return nil }
        defer { close(descriptor) }
        var buffer = [UInt8](repeating: 0, count: 64 * 1024)
        let count = read(descriptor, &buffer, buffer.count)
        return count < 0 ? nil : Data(buffer.prefix(count))
    }

    /// Whether the ELF file `bytes` is linked dynamically: a program with an interpreter (the loader),
    /// or a shared library (which has a dynamic section). The loader cannot list a static program.
    public static func isDynamic(elf bytes: Data) -> Bool {
        func integer(_ offset: Int, _ size: Int) -> Int {
            guard offset + size <= bytes.count else { return 0 }
            return (0..<size).reduce(0) { $0 | Int(bytes[bytes.startIndex + offset + $1]) << (8 * $1) }
        }
        let table = integer(0x20, 8), entrySize = integer(0x36, 2), count = integer(0x38, 2)
        // PT_INTERP (3) or PT_DYNAMIC (2).
        return (0..<count).contains { [2, 3].contains(integer(table + $0 * entrySize, 4)) }
    }

    /// The libraries `file` needs, the loader included, as `loader --list` resolves them; empty for a
    /// static program. A library the loader cannot find is an error naming it.
    public static func needed(by file: String, loader: String) throws(TaskShimError) -> [Library] {
        guard let bytes = elfHeader(file) else { throw .noInput("\(file) cannot be read.") }
        guard isDynamic(elf: bytes) else { return [] }
        let status: Int32, output: String
        do { (status, output) = try ChildProcess.output(loader, ["--list", file]) } catch { throw .wrapping(error) }
        var libraries: [Library] = []
        var missing: [String] = []
        for line in output.split(separator: "\n") {
            let text = line.trimmed
            if let arrow = text.firstRange(of: " => ") {
                let name = String(text[..<arrow.lowerBound])
                let target = text[arrow.upperBound...]
                if target.hasPrefix("not found") { missing.append(name); continue }
                guard let path = target.split(separator: " ").first, path.hasPrefix("/") else { continue }  // the vDSO
                libraries.append(Library(name: name, path: String(path)))
            } else if text.hasPrefix("/"), let path = text.split(separator: " ").first {
                libraries.append(Library(name: String(path.split(separator: "/").last!), path: String(path)))  // the loader
            }
        }
        guard missing.isEmpty else {
            throw .configuration("\(file) needs \(missing.joined(separator: ", ")), which this host does not have.",
                                 hint: "Install the package that provides it, then package again.")
        }
        guard status == 0 else {
            throw .configuration("The dynamic loader could not list the libraries of \(file): \(output.trimmed)")
        }
        return libraries
    }

    /// What a bundle of `binary` carries: the libraries it needs and, unless it is static, the C
    /// libraries the runtime opens on first use that this host has, with theirs. Sorted by name, each once.
    public static func closure(of binary: String, architecture: Architecture) throws(TaskShimError) -> [Library] {
        let loader = try loader(for: architecture)
        var libraries = try needed(by: binary, loader: loader)
        if !libraries.isEmpty {
            for name in NativeLibrary.bundled {
                // A library this host lacks is left out: where the bundle runs, that client reports it missing.
                guard case .success(let path) = NativeLibrary.path(of: name) else { continue }
                libraries.append(Library(name: name, path: path))
                libraries += try needed(by: path, loader: loader)
            }
        }
        var seen = Set<String>()
        return libraries.filter { seen.insert($0.name).inserted }.sorted { $0.name < $1.name }
    }
}
