import Foundation
import Testing
@testable import TaskShimCore

struct PlatformTests {
    func detect(_ values: [String: String]) -> Platform { Platform.detect(Environment(values)) }

    @Test func eachPlatformIsToldFromItsOwnVariables() {
        #expect(detect(["AWS_LAMBDA_RUNTIME_API": "127.0.0.1:9001", "AWS_LAMBDA_FUNCTION_NAME": "nightly",
                        "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST", "AWS_REGION": "eu-west-1", "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "256"])
                == Platform(kind: .lambda, details: [("function", "nightly"), ("version", "$LATEST"), ("region", "eu-west-1"), ("memory_mb", "256")]))
        #expect(detect(["CLOUD_RUN_JOB": "etl", "CLOUD_RUN_EXECUTION": "etl-abc", "CLOUD_RUN_TASK_INDEX": "2",
                        "CLOUD_RUN_TASK_COUNT": "4", "CLOUD_RUN_TASK_ATTEMPT": "0", "K_SERVICE": "ignored"])
                == Platform(kind: .cloudRunJob, details: [("job", "etl"), ("execution", "etl-abc"), ("task_index", "2"),
                                                          ("task_count", "4"), ("task_attempt", "0")]))
        #expect(detect(["K_SERVICE": "fn", "K_REVISION": "fn-00002", "FUNCTION_TARGET": "echo", "FUNCTION_SIGNATURE_TYPE": "cloudevent"])
                == Platform(kind: .cloudRunFunction, details: [("service", "fn"), ("revision", "fn-00002"), ("target", "echo"), ("signature", "cloudevent")]))
        #expect(detect(["K_SERVICE": "api", "K_REVISION": "api-00001", "K_CONFIGURATION": "api"])
                == Platform(kind: .cloudRunService, details: [("service", "api"), ("revision", "api-00001"), ("configuration", "api")]))
        #expect(detect(["ECS_CONTAINER_METADATA_URI_V4": "http://169.254.170.2/v4/x", "AWS_EXECUTION_ENV": "AWS_ECS_FARGATE"]).kind == .ecs)
        #expect(detect(["AWS_EXECUTION_ENV": "AWS_ECS_EC2"]).kind == .ecs)
        #expect(detect(["KUBERNETES_SERVICE_HOST": "10.0.0.1", "HOSTNAME": "job-x7"]) == Platform(kind: .kubernetes, details: [("pod", "job-x7")]))
        #expect(detect(["INVOCATION_ID": "abc", "TRIGGER_UNIT": "backup.timer"])
                == Platform(kind: .systemdTimer, details: [("timer", "backup.timer"), ("invocation", "abc")]))
        #expect(detect(["INVOCATION_ID": "abc", "TRIGGER_UNIT": "data.path"]).kind == .systemdService)
        #expect(detect(["PATH": "/usr/bin", "HOME": "/root"]) == Platform(kind: .host))
    }

    @Test func emptyValuesAreLeftOut() {
        #expect(detect(["K_SERVICE": "api", "K_REVISION": ""]) == Platform(kind: .cloudRunService, details: [("service", "api")]))
    }

    @Test func allowedCPUsAreCountedFromTheAffinityList() throws {
        let status = "Name:\truntime\nCpus_allowed:\tf0f\nCpus_allowed_list:\t0-3,8,10-11\nMems_allowed_list:\t0\n"
        #expect(Platform.allowedCPUs(status: status) == 7)
        #expect(Platform.allowedCPUs(status: "Cpus_allowed_list:\t1\n") == 1)
        #expect(Platform.allowedCPUs(status: "Cpus_allowed_list:\t3-1\n") == nil)
        #expect(Platform.allowedCPUs(status: "Cpus_allowed_list:\t0-x\n") == nil)
        #expect(Platform.allowedCPUs(status: "Cpus_allowed_list:\t\n") == nil)
        #expect(Platform.allowedCPUs(status: "Name:\truntime\n") == nil)
        // This process's own list: at least one CPU, and never more than the machine has.
        let own = try #require(Platform.allowedCPUs)
        #expect(own >= 1 && own <= ProcessInfo.processInfo.processorCount)
    }
}
