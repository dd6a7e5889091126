import ArgumentParser
import FoundationEssentials

struct ValidateCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "validate",
        abstract: "Check a task manifest (taskshim.toml): every problem with its line, or each task's next run.",
        discussion: """
            Exit status: 0 when the manifest is valid, 65 when it has problems (all are listed), 66 when it \
            cannot be read. docs/manifest.md describes the file.

            Examples:
              runtime validate
              runtime validate deploy/taskshim.toml
            """
    )

    @Argument(help: "The manifest.")
    var manifest = "taskshim.toml"

    func run() async throws {
        guard let (runtime, io) = Runtime.current else { return }
        try await io.reportingErrors { _ throws(TaskShimError) in
            let (parsed, problems) = try ScheduleCommand.Run.read(manifest, registry: runtime.registry)
            for problem in problems.sorted(by: { $0.line < $1.line }) {
                io.standardError.write(line: "\(manifest):\(problem.line): " + (problem.key.isEmpty ? "" : problem.key + ": ") + problem.message)
            }
            guard let parsed else {
                throw .data("\(manifest) has \(problems.count) problem(s).")
            }
            let now = Date()
            for task in parsed.tasks {
                let next = task.schedule.next(after: now, in: task.timeZone).map { Timestamp.format($0, fractional: false) } ?? "never"
                io.standardOutput.write(line: "ok  \(task.name)  \(task.scheduleText) (\(task.timeZone.identifier))  next \(next)  handler \(task.handler)")
            }
            io.standardOutput.write(line: "\(manifest): \(parsed.tasks.count) task(s), valid")
        }
    }
}
