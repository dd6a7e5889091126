import ArgumentParser

struct RootCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "runtime",
        abstract: "Run scheduled tasks: one binary for cron, systemd timers, Cloud Run jobs, ECS tasks and AWS Lambda.",
        discussion: """
            One binary, every trigger: `runtime exec` runs a handler once (cron, systemd timers, Cloud Run \
            jobs, ECS scheduled tasks) and exits with a sysexits status.

            Examples:
              runtime exec handlers/SQLTelemetry/examples/demo.sql --dry-run
              runtime exec report.sql --start 2026-11-22T08:00:00Z --end 2026-11-22T09:00:00Z
              runtime worker --queue postgres://app@db/app --concurrency 4
              runtime list
            """,
        version: Runtime.version,
        subcommands: [ExecCommand.self, LambdaCommand.self, PackageCommand.self, ServeCommand.self, WorkerCommand.self, EnqueueCommand.self, JobsCommand.self, ScheduleCommand.self, ValidateCommand.self, HealthcheckCommand.self, ListCommand.self, VersionCommand.self]
    )
}
