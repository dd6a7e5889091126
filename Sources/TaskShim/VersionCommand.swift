import ArgumentParser
import TaskShimClients

struct VersionCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "version",
        abstract: "Print the version of runtime and of the C libraries it runs with."
    )

    func run() async throws {
        guard let (_, io) = Runtime.current else { return }
        io.standardOutput.write(line: "runtime \(Runtime.version)")
        for (name, version) in LibraryVersions.all {
            io.standardOutput.write(line: "  \(name) \(version)")
        }
    }
}
