import Foundation
import Testing
import TestSupport

extension ProcessDrivingTests {
/// The binary as a container's main process: paused and resumed, and as PID 1.
@Suite struct ContainerTests {
    @Test func sigtstpPausesARunAndSigcontResumesIt() async throws {
        let runtime = try BackgroundRuntime(environment: ["TASKSHIM_LOG_FORMAT": "json"],
                                            arguments: ["exec", "sleep", "--event", #"{"ms":1200}"#, "--output", "-"],
                                            executable: RepositoryPaths.embeddedRuntimeBinary)
        #expect(try await runtime.waitForLog("sleeping"))
        runtime.signal(SIGTSTP)
        let deadline = ContinuousClock.now + .seconds(5)
        while runtime.state != "T" && ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(10)) }
        #expect(runtime.state == "T", "stopped, not ended")
        try await Task.sleep(for: .milliseconds(1500))
        #expect(runtime.state == "T", "still paused: nothing ran while stopped")
        runtime.signal(SIGCONT)
        #expect(await runtime.waitForExit(timeout: 20) == 0)
        #expect(runtime.stdout.contains("slept"))
        #expect(!runtime.stdout.contains("run failed"))
    }

    @Test func asPID1TheRuntimeReapsOrphans() async throws {
        // A new PID namespace makes the binary PID 1, as in a container without an init.
        guard FileManager.default.isExecutableFile(atPath: "/usr/bin/unshare"), getuid() == 0 else {
            Issue.record("needs root and util-linux unshare to start the binary as PID 1")
            return
        }
        let result = try await runProcessAsync("/usr/bin/unshare", ["--pid", "--fork", "--mount-proc", RepositoryPaths.embeddedRuntimeBinary,
                                                                    "exec", "orphan", "--output", "-"],
                                               environment: ["TASKSHIM_LOG_FORMAT": "json"])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdoutLines.contains("zombies=0"), "\(result.stdout)")
    }
}
}
