import FoundationEssentials
import TaskShimCore

extension Platform {
    /// On ECS, the task's cluster, ARN, family, revision, launch type and zone, read once from the task
    /// metadata endpoint (`$ECS_CONTAINER_METADATA_URI_V4/task`). An endpoint that is missing, slow (over
    /// `timeout`) or answers something unexpected leaves the platform as detected from the environment:
    /// these details are for the logs, never a reason not to start.
    public func addingECSTaskMetadata(_ environment: Environment, timeout: Duration = .seconds(1)) async -> Platform {
        guard kind == .ecs, let base = environment["ECS_CONTAINER_METADATA_URI_V4"], !base.isEmpty else { return self }
        let client = HTTPClient(options: .init(connectTimeout: timeout, requestTimeout: timeout, maxResponseBytes: 1 << 20))
        guard let response = try? await client.send(HTTPRequest(url: base + "/task")), response.status == 200,
              let task = JSONValue.parse(response.body) else { return self }
        var platform = self
        for (name, key) in [("cluster", "Cluster"), ("task_arn", "TaskARN"), ("family", "Family"), ("revision", "Revision"),
                            ("launch_type", "LaunchType"), ("availability_zone", "AvailabilityZone")] {
            if let value = task[key]?.string, !value.isEmpty, !platform.details.contains(where: { $0.0 == name }) {
                platform.details.append((name, value))
            }
        }
        return platform
    }
}
