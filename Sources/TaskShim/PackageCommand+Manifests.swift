import ArgumentParser
import FoundationEssentials
import TaskShimPackager

extension PackageCommand {
    struct Manifests: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "manifests",
            abstract: "Write the deployment files of the manifest's tasks, their schedules translated per platform.",
            discussion: """
                For each task, on each platform it names in `platforms` (else Lambda, Cloud Run job, ECS, \
                Kubernetes, systemd and crontab), into OUT/deploy/:
                  template.yaml                 SAM: a function per task, EventBridge Scheduler, retries, a dead-letter queue
                  cloud-run/TASK.job.yaml       a Cloud Run job, and TASK.schedule.sh for its Cloud Scheduler job
                  cloud-run/TASK.service.yaml   a Cloud Run service (platforms "cloud-run", "cloud-functions")
                  ecs/TASK.task-definition.json, ecs/TASK.schedule.json (aws scheduler create-schedule)
                  kubernetes/TASK.cronjob.yaml  a CronJob with timeZone and the concurrency policy
                  systemd/taskshim-TASK.service, .timer
                  crontab                       CRON_TZ lines
                A schedule a platform cannot express (seconds, a time zone EventBridge rules lack...) is not \
                written for it, and why is printed; exit 65 when the task named that platform. Placeholders in \
                capitals (REGION, ACCOUNT, SUBNET_ID...) are yours to fill.

                Examples:
                  runtime package manifests
                  runtime package manifests --image europe-docker.pkg.dev/acme/jobs/reports:1.4
                """
        )

        @Option(help: ArgumentHelp("The task manifest.", valueName: "path"))
        var manifest = "taskshim.toml"

        @Option(help: ArgumentHelp("Only this task.", valueName: "name"))
        var task: String?

        @Option(help: ArgumentHelp("The image for Cloud Run, ECS and Kubernetes (default: as `runtime package image` names it).", valueName: "name:tag"))
        var image: String?

        @Option(help: "The Lambda and ECS architecture.")
        var arch = Choice(SharedLibraries.Architecture.x86_64)

        @Option(help: ArgumentHelp("The directory to write deploy/ into.", valueName: "dir"))
        var out = "dist"

        func run() async throws {
            guard let (runtime, io) = Runtime.current else { return }
            try await io.reportingErrors { _ throws(TaskShimError) in
                var parsed = try ScheduleCommand.Run.load(manifest, registry: runtime.registry)
                if let task {
                    guard let found = parsed.tasks.first(where: { $0.name == task }) else {
                        throw .usage("\(manifest) has no task \(task).", hint: "Its tasks: " + parsed.tasks.map(\.name).joined(separator: ", ") + ".")
                    }
                    parsed.tasks = [found]
                }
                let root = FilePath.directory(of: manifest)
                var settings = DeploymentManifests.Settings(image: image ?? PackageCommand.Image.defaultTag(root: root),
                                                            lambdaZip: "../taskshim-lambda-\(arch.value.rawValue).zip", architecture: arch.value)
                settings.hostDirectory = "/srv/" + PackageCommand.Image.defaultTag(root: root).split(separator: ":")[0]
                let (files, refusals) = DeploymentManifests.build(parsed, settings: settings)
                for refusal in refusals { io.standardError.write(line: refusal.description) }
                let directory = FilePath.join(out, "deploy")
                for file in files {
                    try PackageCommand.write(Data(file.contents.utf8), to: FilePath.join(directory, file.path))
                }
                io.standardOutput.write(lines: files.map { "wrote " + FilePath.join(directory, $0.path) })
                io.standardOutput.write(line: "\(files.count) file(s) for \(parsed.tasks.count) task(s); docs/deploy/ has a walkthrough per platform.")
                let requested = refusals.filter(\.requested)
                if !requested.isEmpty {
                    throw .data("\(requested.count) task(s) cannot run on a platform they name: " + requested.map(\.description).joined(separator: "; "),
                                hint: "Change the schedule, or remove the platform from the task's `platforms`.")
                }
            }
        }
    }
}
