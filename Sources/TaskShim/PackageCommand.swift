import ArgumentParser
import FoundationEssentials
import TaskShimPackager

struct PackageCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "package",
        abstract: "Build what you deploy: a Lambda zip, a container image, deployment files.",
        discussion: """
            Packages this binary (or --binary), the libraries it needs, the task manifest and the handler \
            files it names. Same input, same bytes. docs/deploy/ has a walkthrough per platform.

            Examples:
              runtime package lambda
              runtime package lambda --include queries/window.sql --out build/
              runtime package image --tag registry.example.com/reports:1.4
              runtime package manifests --image registry.example.com/reports:1.4
            """,
        subcommands: [Lambda.self, Image.self, Manifests.self]
    )

    /// Options every package command shares: what to package and where from.
    struct Inputs: ParsableArguments {
        @Option(help: ArgumentHelp("The task manifest; its handler files are packaged with it (skipped when the default is absent).", valueName: "path"))
        var manifest: String?

        @Option(name: .customLong("include"), help: ArgumentHelp("Another project file to package (a .sql handler), relative to the manifest's directory; repeatable.", valueName: "path"))
        var includes: [String] = []

        @Option(help: ArgumentHelp("The runtime binary to package (default: this one).", valueName: "path"))
        var binary: String?

        @Option(help: ArgumentHelp("The directory to write into, or the file to write.", valueName: "path"))
        var out = "dist"

        @Option(help: "The CPU to build for; must be the binary's (default: the binary's).")
        var arch: Choice<SharedLibraries.Architecture>?

        /// Where to write: --out when it names a file of the kind (`.zip`, `.tar`), else `name` in it.
        func output(named name: String) -> String {
            let suffix = name[name.lastIndex(of: ".")!...]
            return out.hasSuffix(suffix) ? out : FilePath.join(out, name)
        }

        /// The binary to package: --binary, else the program running (not the loader it may run under).
        func binaryPath(arguments: [String] = CommandLine.arguments) -> String {
            if let binary { return binary }
            if let own = FilePath.resolved("/proc/self/exe"), !FilePath.stem(own).hasPrefix("ld-linux") { return own }
            return FilePath.resolved(arguments[0]) ?? arguments[0]
        }

        /// The manifest's directory (the project root) and the files to ship: the manifest, each task's
        /// handler file, and the --include files, all checked to be inside the project.
        func projectFiles(registry: HandlerRegistry) throws(TaskShimError) -> (root: String, files: [ProjectFile], manifest: TaskManifest?) {
            let path = manifest ?? "taskshim.toml"
            let root = FilePath.directory(of: path)
            var files: [ProjectFile] = []
            var parsed: TaskManifest?
            if manifest != nil || FileManager.default.fileExists(atPath: path) {
                let read = try ScheduleCommand.Run.load(path, registry: registry)
                parsed = read
                files.append(try ProjectFile(path, root: root))
                for task in read.tasks where task.handler.contains(".") {
                    do {
                        files.append(try ProjectFile(task.handler, root: root))
                    } catch {
                        throw TaskShimError(error.status, "Task \(task.name) (line \(task.line)): \(error.message)", hint: error.hint)
                    }
                }
            }
            for include in includes { files.append(try ProjectFile(include, root: root)) }
            var seen = Set<String>()
            return (root, files.filter { seen.insert($0.archivePath).inserted }, parsed)
        }
    }

    /// Writes `data` to `path` through a temporary file and a rename, so no half-written package is left.
    static func write(_ data: Data, to path: String) throws(TaskShimError) {
        let directory = FilePath.directory(of: path)
        do {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            let temporary = path + ".partial"
            try data.write(to: URL(fileURLWithPath: temporary))
            if FileManager.default.fileExists(atPath: path) { try FileManager.default.removeItem(atPath: path) }
            try FileManager.default.moveItem(atPath: temporary, toPath: path)
        } catch {
            throw TaskShimError(.ioError, "Cannot write \(path): \(error)", hint: "Check that the --out directory is writable.")
        }
    }

    /// SOURCE_DATE_EPOCH (reproducible-builds.org) as every entry's time stamp, when set.
    static func sourceDate(_ environment: Environment) -> Date? {
        environment["SOURCE_DATE_EPOCH"].flatMap(Double.init).map { Date(timeIntervalSince1970: $0) }
    }

    /// Seconds since `start`, to two decimals.
    static func seconds(since start: ContinuousClock.Instant) -> Double {
        let elapsed = ContinuousClock.now - start
        return Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds / 10_000_000_000_000_000) / 100
    }
}
