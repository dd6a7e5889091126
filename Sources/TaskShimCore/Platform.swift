/// Where the process runs, told from the variables each platform sets, with what identifies the
/// deployment there (function, revision, job execution, region...). Logged once at start-up, so a
/// line in a shared log says which deployment wrote it.
public struct Platform: Sendable, Equatable {
    public enum Kind: String, Sendable {
        case lambda
        case cloudRunFunction = "cloud-run-function"
        case cloudRunService = "cloud-run-service"
        case cloudRunJob = "cloud-run-job"
        case ecs
        case kubernetes
        case systemdTimer = "systemd-timer"
        case systemdService = "systemd-service"
        case host
    }

    public var kind: Kind
    /// Identifying values, in a stable order, under snake_case names; never a secret.
    public var details: [(String, String)]

    public init(kind: Kind, details: [(String, String)] = []) {
        self.kind = kind
        self.details = details
    }

    /// Detects the platform. The most specific contract wins: a Cloud Run job also runs on Knative-like
    /// infrastructure, and a Lambda function may run in a container image.
    public static func detect(_ environment: Environment) -> Platform {
        func pick(_ pairs: [(String, String)]) -> [(String, String)] {
            pairs.compactMap { name, variable in environment[variable].flatMap { $0.isEmpty ? nil : (name, $0) } }
        }
        if environment["AWS_LAMBDA_RUNTIME_API"] != nil || environment["AWS_LAMBDA_FUNCTION_NAME"] != nil {
            return Platform(kind: .lambda, details: pick([
                ("function", "AWS_LAMBDA_FUNCTION_NAME"), ("version", "AWS_LAMBDA_FUNCTION_VERSION"),
                ("region", "AWS_REGION"), ("memory_mb", "AWS_LAMBDA_FUNCTION_MEMORY_SIZE"),
                ("log_group", "AWS_LAMBDA_LOG_GROUP_NAME"),
            ]))
        }
        if environment["CLOUD_RUN_JOB"] != nil {
            return Platform(kind: .cloudRunJob, details: pick([
                ("job", "CLOUD_RUN_JOB"), ("execution", "CLOUD_RUN_EXECUTION"), ("task_index", "CLOUD_RUN_TASK_INDEX"),
                ("task_count", "CLOUD_RUN_TASK_COUNT"), ("task_attempt", "CLOUD_RUN_TASK_ATTEMPT"),
            ]))
        }
        if environment["K_SERVICE"] != nil {
            let revision = pick([("service", "K_SERVICE"), ("revision", "K_REVISION"), ("configuration", "K_CONFIGURATION")])
            if environment["FUNCTION_TARGET"] != nil {
                return Platform(kind: .cloudRunFunction, details: revision + pick([
                    ("target", "FUNCTION_TARGET"), ("signature", "FUNCTION_SIGNATURE_TYPE"),
                ]))
            }
            return Platform(kind: .cloudRunService, details: revision)
        }
        if environment["ECS_CONTAINER_METADATA_URI_V4"] != nil || environment["AWS_EXECUTION_ENV"]?.hasPrefix("AWS_ECS") == true {
            return Platform(kind: .ecs, details: pick([("execution_env", "AWS_EXECUTION_ENV"), ("region", "AWS_REGION")]))
        }
        if environment["KUBERNETES_SERVICE_HOST"] != nil {
            return Platform(kind: .kubernetes, details: pick([("pod", "HOSTNAME")]))
        }
        // systemd sets INVOCATION_ID for every unit it starts and, since 251, TRIGGER_UNIT for a unit a
        // timer (or path) activated.
        if let trigger = environment["TRIGGER_UNIT"], trigger.hasSuffix(".timer") {
            return Platform(kind: .systemdTimer, details: pick([("timer", "TRIGGER_UNIT"), ("invocation", "INVOCATION_ID")]))
        }
        if environment["INVOCATION_ID"] != nil {
            return Platform(kind: .systemdService, details: pick([("invocation", "INVOCATION_ID")]))
        }
        return Platform(kind: .host)
    }

    public static func == (lhs: Platform, rhs: Platform) -> Bool {
        lhs.kind == rhs.kind && lhs.details.elementsEqual(rhs.details) { $0 == $1 }
    }
}
