import ArgumentParser

struct ListCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "list",
        abstract: "List the handlers this binary can run."
    )

    func run() async throws {
        guard let (runtime, io) = Runtime.current else { return }
        for name in runtime.registry.names {
            io.standardOutput.write(line: name)
        }
        for ext in runtime.registry.fileExtensions {
            io.standardOutput.write(line: "*.\(ext)")
        }
    }
}
