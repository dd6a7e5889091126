import Foundation
import Testing
import TestSupport
@testable import TaskShimClients
@testable import TaskShimCore

/// The ECS task metadata endpoint cannot run here; Python's http.server serves a document shaped like
/// the v4 `/task` answer in its place (Tests/Support/http_receiver.py).
struct PlatformECSTests {
    @Test func theTaskMetadataEndpointAddsTheTasksIdentity() async throws {
        let directory = try TemporaryDirectory()
        let document = try directory.write("task.json", """
            {"Cluster":"arn:aws:ecs:eu-west-1:123456789012:cluster/jobs","TaskARN":"arn:aws:ecs:eu-west-1:123456789012:task/jobs/abc",
             "Family":"nightly","Revision":"7","LaunchType":"FARGATE","AvailabilityZone":"eu-west-1a","Containers":[]}
            """)
        let receiver = try await RecordingReceiver.start(statuses: ["200:file=\(document)"])
        let environment = Environment(["ECS_CONTAINER_METADATA_URI_V4": "http://127.0.0.1:\(receiver.port)/v4/abc-1",
                                       "AWS_EXECUTION_ENV": "AWS_ECS_FARGATE"])
        let platform = await Platform.detect(environment).addingECSTaskMetadata(environment)
        #expect(platform.kind == .ecs)
        let details = Dictionary(uniqueKeysWithValues: platform.details)
        #expect(details["cluster"] == "arn:aws:ecs:eu-west-1:123456789012:cluster/jobs")
        #expect(details["task_arn"] == "arn:aws:ecs:eu-west-1:123456789012:task/jobs/abc")
        #expect(details["family"] == "nightly" && details["revision"] == "7")
        #expect(details["launch_type"] == "FARGATE" && details["availability_zone"] == "eu-west-1a")
        #expect(details["execution_env"] == "AWS_ECS_FARGATE")
        #expect(receiver.requests.map(\.path) == ["/v4/abc-1/task"])
    }

    @Test func anEndpointThatIsAbsentOrSaysNothingUsefulIsTolerated() async throws {
        let unreachable = Environment(["ECS_CONTAINER_METADATA_URI_V4": "http://127.0.0.1:\(closedPort())/v4/x"])
        let detected = Platform.detect(unreachable)
        #expect(await detected.addingECSTaskMetadata(unreachable) == detected)

        let failing = try await RecordingReceiver.start(statuses: ["500"])
        let answering500 = Environment(["ECS_CONTAINER_METADATA_URI_V4": "http://127.0.0.1:\(failing.port)/v4/x"])
        #expect(await Platform.detect(answering500).addingECSTaskMetadata(answering500) == Platform.detect(answering500))

        let slow = try await RecordingReceiver.start(statuses: ["200:slow=40"])
        let hanging = Environment(["ECS_CONTAINER_METADATA_URI_V4": "http://127.0.0.1:\(slow.port)/v4/x"])
        let clock = ContinuousClock()
        let start = clock.now
        #expect(await Platform.detect(hanging).addingECSTaskMetadata(hanging, timeout: .milliseconds(300)) == Platform.detect(hanging))
        #expect(clock.now - start < .seconds(15), "the 0.3 s limit, not the 40 s answer")
    }
}
