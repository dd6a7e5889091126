import TaskShimCore
import TaskShimSchedule

/// For each task of a manifest, the files that deploy it on each platform it names (every
/// scheduled platform when it names none), with its schedule written for that platform: a SAM
/// template, Cloud Run job (and service) YAML with the Cloud Scheduler command, an ECS task definition
/// with its EventBridge Scheduler schedule, a Kubernetes CronJob, a crontab and systemd units. A
/// schedule a platform cannot express is refused for that platform, with why.
public enum DeploymentManifests {
    /// What the files refer to that the manifest does not say.
    public struct Settings: Sendable {
        /// The image (`runtime package image --tag`) for Cloud Run, ECS and Kubernetes.
        public var image: String
        /// The Lambda zip, relative to where the SAM template is written.
        public var lambdaZip: String
        public var architecture: SharedLibraries.Architecture
        /// Where the project is installed on a host (crontab, systemd) and where runtime is.
        public var hostDirectory = "/srv/taskshim"
        public var hostRuntime = "/usr/local/bin/runtime"

        public init(image: String, lambdaZip: String, architecture: SharedLibraries.Architecture) {
            self.image = image
            self.lambdaZip = lambdaZip
            self.architecture = architecture
        }
    }

    /// A file to write, relative to the output directory.
    public struct File: Sendable, Equatable {
        public var path: String
        public var contents: String
    }

    /// A task a platform cannot run as written, and why.
    public struct Refusal: Sendable, Equatable, CustomStringConvertible {
        public var task: String
        public var platform: String
        public var reason: String
        /// Whether the task named the platform (then it is an error, not a note).
        public var requested: Bool
        public var description: String { "\(platform): task \(task) not written: \(reason)" }
    }

    /// The platforms written for a task that names none.
    public static let defaultPlatforms = ["lambda", "cloud-run-job", "ecs", "kubernetes", "systemd", "crontab"]

    public static func build(_ manifest: TaskManifest, settings: Settings) -> (files: [File], refusals: [Refusal]) {
        var files: [File] = []
        var refusals: [Refusal] = []
        var lambda: [(String, Document)] = []
        var crontab: [String] = []
        for task in manifest.tasks {
            let platforms = task.platforms.isEmpty ? defaultPlatforms : task.platforms
            for platform in platforms {
                do throws(ScheduleError) {
                    switch platform {
                    case "lambda": lambda += try lambdaResources(task, settings)
                    case "cloud-run-job": files += try cloudRunJob(task, settings)
                    case "cloud-run", "cloud-functions": files += try cloudRunService(task, settings)
                    case "ecs": files += try ecs(task, settings)
                    case "kubernetes": files.append(try cronJob(task, settings))
                    case "systemd": files += try systemd(task, settings)
                    case "crontab": crontab += try crontabLines(task, settings)
                    default: break
                    }
                } catch {
                    refusals.append(Refusal(task: task.name, platform: platform, reason: error.description, requested: !task.platforms.isEmpty))
                }
            }
        }
        if !lambda.isEmpty {
            let template = Document.map([
                ("AWSTemplateFormatVersion", .string("2010-09-09")),
                ("Transform", .string("AWS::Serverless-2016-10-31")),
                ("Description", .string("TaskShim tasks (written by runtime package manifests)")),
                ("Resources", .map([("DeadLetterQueue", .map([("Type", .string("AWS::SQS::Queue")),
                                                             ("Properties", .map([("MessageRetentionPeriod", .integer(1_209_600))]))]))] + lambda)),
            ])
            files.append(File(path: "template.yaml", contents: "# sam deploy --guided --template-file template.yaml\n" + template.yaml))
        }
        if !crontab.isEmpty {
            let header = "# TaskShim tasks (written by runtime package manifests). Install: crontab crontab\n# The project is expected in \(settings.hostDirectory).\n"
            files.append(File(path: "crontab", contents: header + crontab.joined(separator: "\n") + "\n"))
        }
        return (files, refusals)
    }

    // MARK: AWS Lambda (SAM)

    static func lambdaResources(_ task: TaskManifest.Task, _ settings: Settings) throws(ScheduleError) -> [(String, Document)] {
        let timeout = task.timeout.map { Int($0.seconds.rounded(.up)) } ?? 60
        guard timeout <= 900 else {
            throw ScheduleError("a Lambda function runs at most 900 s, and the task's timeout is \(timeout) s.",
                                hint: "Deploy it as a Cloud Run job, an ECS task or a Kubernetes CronJob (platforms = [\"ecs\"]).")
        }
        let written = try scheduleForAWS(task)
        var schedule: [(String, Document)] = [("ScheduleExpression", .string(written.expressions[0]))]
        if let zone = written.timeZone { schedule.append(("ScheduleExpressionTimezone", .string(zone))) }
        schedule += [
            ("RetryPolicy", .map([("MaximumRetryAttempts", .integer(min(task.retries, 185)))])),
            ("DeadLetterConfig", .map([("Arn", getAtt("DeadLetterQueue", "Arn"))])),
        ]
        var properties: [(String, Document)] = [
            ("CodeUri", .string(settings.lambdaZip)),
            ("Handler", .string(task.handler)),
            ("Runtime", .string("provided.al2023")),
            ("Architectures", .list([.string(settings.architecture.rawValue)])),
            ("MemorySize", .integer(task.memoryMiB ?? 256)),
            ("Timeout", .integer(timeout)),
            ("LoggingConfig", .map([("LogFormat", .string("JSON"))])),
            // A failed run is retried by Lambda (at most twice), then kept in the dead-letter queue.
            ("EventInvokeConfig", .map([("MaximumRetryAttempts", .integer(min(task.retries, 2)))])),
            ("DeadLetterQueue", .map([("Type", .string("SQS")), ("TargetArn", getAtt("DeadLetterQueue", "Arn"))])),
        ]
        if let environment = environment(task) { properties.append(("Environment", .map([("Variables", environment)]))) }
        properties.append(("Events", .map([("Schedule", .map([("Type", .string("ScheduleV2")), ("Properties", .map(schedule))]))])))
        return [(logicalID(task.name), .map([("Type", .string("AWS::Serverless::Function")), ("Properties", .map(properties))]))]
    }

    /// EventBridge Scheduler's form (it takes a time zone; a UTC schedule needs none).
    static func scheduleForAWS(_ task: TaskManifest.Task) throws(ScheduleError) -> PlatformSchedule {
        try task.schedule.written(for: .eventBridgeScheduler, in: task.timeZone)
    }

    static func getAtt(_ resource: String, _ attribute: String) -> Document {
        .map([("Fn::GetAtt", .list([.string(resource), .string(attribute)]))])
    }

    /// `hourly-report` → `HourlyReportFunction` (CloudFormation ids are alphanumeric).
    static func logicalID(_ name: String) -> String {
        let words = name.split { !($0.isASCII && ($0.isLetter || $0.isNumber)) }
        return words.map { $0.prefix(1).uppercased() + $0.dropFirst() }.joined() + "Function"
    }

    static func environment(_ task: TaskManifest.Task) -> Document? {
        task.environment.isEmpty ? nil : .map(task.environment.sorted { $0.key < $1.key }.map { ($0.key, .string($0.value)) })
    }

    static func environmentList(_ task: TaskManifest.Task, nameKey: String = "name") -> Document? {
        task.environment.isEmpty ? nil : .list(task.environment.sorted { $0.key < $1.key }.map { .map([(nameKey, .string($0.key)), ("value", .string($0.value))]) })
    }

    // MARK: Google Cloud Run

    static func cloudRunJob(_ task: TaskManifest.Task, _ settings: Settings) throws(ScheduleError) -> [File] {
        let written = try task.schedule.written(for: .cloudScheduler, in: task.timeZone)
        let name = resourceName(task.name)
        var container: [(String, Document)] = [("image", .string(settings.image)), ("args", .list([.string("exec"), .string(task.handler)]))]
        if let environment = environmentList(task) { container.append(("env", environment)) }
        container.append(("resources", .map([("limits", .map([("memory", .string("\(task.memoryMiB ?? 512)Mi")), ("cpu", .string("1"))]))])))
        let job = Document.map([
            ("apiVersion", .string("run.googleapis.com/v1")),
            ("kind", .string("Job")),
            ("metadata", .map([("name", .string(name))])),
            ("spec", .map([("template", .map([("spec", .map([
                ("taskCount", .integer(1)),
                ("template", .map([("spec", .map([
                    ("maxRetries", .integer(task.retries)),
                    ("timeoutSeconds", .integer(task.timeout.map { Int($0.seconds.rounded(.up)) } ?? 600)),
                    ("serviceAccountName", .string("SERVICE_ACCOUNT_EMAIL")),
                    ("containers", .list([.map(container)])),
                ]))])),
            ]))]))])),
        ])
        let scheduler = """
            #!/bin/sh
            # Creates the job, then the Cloud Scheduler job that runs it. Set REGION, PROJECT and SERVICE_ACCOUNT_EMAIL first.
            set -eu
            gcloud run jobs replace \(name).job.yaml --region "$REGION"
            gcloud scheduler jobs create http \(name) --location "$REGION" \\
              --schedule \(shellQuoted(written.expressions[0])) --time-zone \(shellQuoted(written.timeZone ?? "Etc/UTC")) \\
              --uri "https://run.googleapis.com/v2/projects/$PROJECT/locations/$REGION/jobs/\(name):run" --http-method POST \\
              --oauth-service-account-email "$SERVICE_ACCOUNT_EMAIL"

            """
        return [File(path: "cloud-run/\(name).job.yaml", contents: "# gcloud run jobs replace \(name).job.yaml --region REGION\n" + job.yaml),
                File(path: "cloud-run/\(name).schedule.sh", contents: scheduler)]
    }

    static func cloudRunService(_ task: TaskManifest.Task, _ settings: Settings) throws(ScheduleError) -> [File] {
        let written = try task.schedule.written(for: .cloudScheduler, in: task.timeZone)
        let name = resourceName(task.name)
        var environment: [Document] = [.map([("name", .string("FUNCTION_TARGET")), ("value", .string(task.handler))])]
        if case .list(let more)? = environmentList(task) { environment += more }
        let service = Document.map([
            ("apiVersion", .string("serving.knative.dev/v1")),
            ("kind", .string("Service")),
            ("metadata", .map([("name", .string(name))])),
            ("spec", .map([("template", .map([("spec", .map([
                ("timeoutSeconds", .integer(task.timeout.map { Int($0.seconds.rounded(.up)) } ?? 300)),
                ("serviceAccountName", .string("SERVICE_ACCOUNT_EMAIL")),
                ("containers", .list([.map([
                    ("image", .string(settings.image)),
                    ("args", .list([.string("serve")])),
                    ("ports", .list([.map([("containerPort", .integer(8080))])])),
                    ("env", .list(environment)),
                    ("resources", .map([("limits", .map([("memory", .string("\(task.memoryMiB ?? 512)Mi"))]))])),
                ])])),
            ]))]))])),
        ])
        // Cloud Scheduler sends X-CloudScheduler-ScheduleTime, which runtime serve takes as the logical time.
        let scheduler = """
            #!/bin/sh
            # Deploys the service, then the Cloud Scheduler job that calls it. Set REGION and SERVICE_ACCOUNT_EMAIL first.
            set -eu
            gcloud run services replace \(name).service.yaml --region "$REGION"
            url=$(gcloud run services describe \(name) --region "$REGION" --format 'value(status.url)')
            gcloud scheduler jobs create http \(name) --location "$REGION" \\
              --schedule \(shellQuoted(written.expressions[0])) --time-zone \(shellQuoted(written.timeZone ?? "Etc/UTC")) \\
              --uri "$url/" --http-method POST --oidc-service-account-email "$SERVICE_ACCOUNT_EMAIL" --oidc-token-audience "$url"

            """
        return [File(path: "cloud-run/\(name).service.yaml", contents: "# gcloud run services replace \(name).service.yaml --region REGION\n" + service.yaml),
                File(path: "cloud-run/\(name).schedule.sh", contents: scheduler)]
    }

    // MARK: Amazon ECS

    static func ecs(_ task: TaskManifest.Task, _ settings: Settings) throws(ScheduleError) -> [File] {
        let written = try scheduleForAWS(task)
        let name = resourceName(task.name)
        var container: [(String, Document)] = [
            ("name", .string(name)),
            ("image", .string(settings.image)),
            ("command", .list([.string("exec"), .string(task.handler)])),
            ("essential", .bool(true)),
            ("stopTimeout", .integer(30)),
        ]
        if let environment = environmentList(task) { container.append(("environment", environment)) }
        container.append(("logConfiguration", .map([("logDriver", .string("awslogs")), ("options", .map([
            ("awslogs-group", .string("/ecs/\(name)")), ("awslogs-region", .string("REGION")), ("awslogs-stream-prefix", .string(name)),
            ("awslogs-create-group", .string("true")),
        ]))])))
        let memory = max(512, task.memoryMiB ?? 512)
        let definition = Document.map([
            ("family", .string(name)),
            ("requiresCompatibilities", .list([.string("FARGATE")])),
            ("networkMode", .string("awsvpc")),
            ("cpu", .string(memory > 4096 ? "1024" : memory > 2048 ? "512" : "256")),
            ("memory", .string(String(memory))),
            ("runtimePlatform", .map([("cpuArchitecture", .string(settings.architecture == .x86_64 ? "X86_64" : "ARM64")),
                                      ("operatingSystemFamily", .string("LINUX"))])),
            ("executionRoleArn", .string("arn:aws:iam::ACCOUNT:role/ecsTaskExecutionRole")),
            ("containerDefinitions", .list([.map(container)])),
        ])
        var schedule: [(String, Document)] = [
            ("Name", .string(name)),
            ("ScheduleExpression", .string(written.expressions[0])),
        ]
        if let zone = written.timeZone { schedule.append(("ScheduleExpressionTimezone", .string(zone))) }
        schedule += [
            ("FlexibleTimeWindow", .map([("Mode", .string("OFF"))])),
            ("Target", .map([
                ("Arn", .string("arn:aws:ecs:REGION:ACCOUNT:cluster/CLUSTER")),
                ("RoleArn", .string("arn:aws:iam::ACCOUNT:role/SCHEDULER_ROLE")),
                ("RetryPolicy", .map([("MaximumRetryAttempts", .integer(min(task.retries, 185)))])),
                ("EcsParameters", .map([
                    ("TaskDefinitionArn", .string("arn:aws:ecs:REGION:ACCOUNT:task-definition/\(name)")),
                    ("LaunchType", .string("FARGATE")),
                    ("NetworkConfiguration", .map([("awsvpcConfiguration", .map([("Subnets", .list([.string("SUBNET_ID")])), ("AssignPublicIp", .string("DISABLED"))]))])),
                ])),
            ])),
        ]
        return [File(path: "ecs/\(name).task-definition.json", contents: definition.json),
                File(path: "ecs/\(name).schedule.json", contents: Document.map(schedule).json)]
    }

    // MARK: Kubernetes

    static func cronJob(_ task: TaskManifest.Task, _ settings: Settings) throws(ScheduleError) -> File {
        let written = try task.schedule.written(for: .kubernetes, in: task.timeZone)
        let name = resourceName(task.name)
        var container: [(String, Document)] = [("name", .string(name)), ("image", .string(settings.image)),
                                               ("args", .list([.string("exec"), .string(task.handler)]))]
        if let environment = environmentList(task) { container.append(("env", environment)) }
        container.append(("resources", .map([("limits", .map([("memory", .string("\(task.memoryMiB ?? 512)Mi"))]))])))
        var job: [(String, Document)] = [("backoffLimit", .integer(task.retries))]
        if let timeout = task.timeout { job.append(("activeDeadlineSeconds", .integer(Int(timeout.seconds.rounded(.up))))) }
        job.append(("template", .map([("spec", .map([
            ("restartPolicy", .string("Never")),
            ("securityContext", .map([("runAsNonRoot", .bool(true)), ("runAsUser", .integer(Int(ContainerImage.user)))])),
            ("containers", .list([.map(container)])),
        ]))])))
        var spec: [(String, Document)] = [("schedule", .string(written.expressions[0]))]
        if let zone = written.timeZone { spec.append(("timeZone", .string(zone))) }
        spec.append(("concurrencyPolicy", .string(task.concurrency.rawValue.prefix(1).uppercased() + task.concurrency.rawValue.dropFirst())))
        if let deadline = task.startingDeadline { spec.append(("startingDeadlineSeconds", .integer(Int(deadline.seconds.rounded(.up))))) }
        spec.append(("jobTemplate", .map([("spec", .map(job))])))
        let cronJob = Document.map([("apiVersion", .string("batch/v1")), ("kind", .string("CronJob")),
                                    ("metadata", .map([("name", .string(name))])), ("spec", .map(spec))])
        return File(path: "kubernetes/\(name).cronjob.yaml", contents: "# kubectl apply -f \(name).cronjob.yaml\n" + cronJob.yaml)
    }

    // MARK: Hosts

    static func crontabLines(_ task: TaskManifest.Task, _ settings: Settings) throws(ScheduleError) -> [String] {
        let written = try task.schedule.written(for: .crontab, in: task.timeZone)
        return ["# \(task.name)", "CRON_TZ=\(written.timeZone ?? "UTC")",
                "\(written.expressions[0]) cd \(settings.hostDirectory) && \(settings.hostRuntime) exec \(shellQuoted(task.handler))"]
    }

    static func systemd(_ task: TaskManifest.Task, _ settings: Settings) throws(ScheduleError) -> [File] {
        let written = try task.schedule.written(for: .systemd, in: task.timeZone)
        let name = "taskshim-" + resourceName(task.name)
        var service = """
            [Unit]
            Description=TaskShim task \(task.name) (\(task.handler))

            [Service]
            Type=oneshot
            WorkingDirectory=\(settings.hostDirectory)
            ExecStart=\(settings.hostRuntime) exec \(task.handler)
            DynamicUser=yes

            """
        for (key, value) in task.environment.sorted(by: { $0.key < $1.key }) {
            service += "Environment=\(JSONLine.quoted(key + "=" + value))\n"
        }
        if let timeout = task.timeout { service += "TimeoutStartSec=\(Int(timeout.seconds.rounded(.up)))\n" }
        var timer = """
            [Unit]
            Description=Schedule of TaskShim task \(task.name)

            [Timer]

            """
        for expression in written.expressions { timer += "OnCalendar=\(expression)\n" }
        timer += "AccuracySec=1s\n"
        if task.startingDeadline != nil { timer += "Persistent=true\n" }
        if let jitter = task.jitter { timer += "RandomizedDelaySec=\(Int(jitter.seconds.rounded(.up)))\n" }
        timer += "\n[Install]\nWantedBy=timers.target\n"
        return [File(path: "systemd/\(name).service", contents: service), File(path: "systemd/\(name).timer", contents: timer)]
    }

    // MARK: Names

    /// A name every platform takes (DNS-1123: lowercase letters, digits and `-`, 63 at most).
    static func resourceName(_ name: String) -> String {
        let mapped = String(name.lowercased().map { $0.isASCII && ($0.isLetter || $0.isNumber) ? $0 : "-" })
        let trimmed = mapped.split(separator: "-").joined(separator: "-")
        return String((trimmed.isEmpty ? "task" : trimmed).prefix(63))
    }

    static func shellQuoted(_ text: String) -> String { "'" + text.replacing("'", with: #"'\''"#) + "'" }
}
