import Foundation
import Testing
import TestSupport

extension ProcessDrivingTests {
/// `runtime package manifests` through the binary: what it writes and what it refuses.
@Suite struct PackageManifestsContractTests {
    @Test func itWritesEachPlatformsFilesUnderDeploy() async throws {
        let project = try PackageProject(sql: "SELECT 1 AS one", taskSettings: "time_zone = \"Europe/Paris\"\n")
        let result = try await project.package("manifests", ["--image", "example.com/reports:1.4"])
        #expect(result.status == 0, "\(result.stderr)")
        for path in ["template.yaml", "crontab", "kubernetes/one.cronjob.yaml", "cloud-run/one.job.yaml", "ecs/one.task-definition.json", "systemd/taskshim-one.timer"] {
            #expect(result.stdout.contains("wrote dist/deploy/\(path)") && FileManager.default.fileExists(atPath: project.file("dist/deploy/" + path)), "\(path)")
        }
        let cronJob = try String(contentsOfFile: project.file("dist/deploy/kubernetes/one.cronjob.yaml"), encoding: .utf8)
        #expect(cronJob.contains(#"image: "example.com/reports:1.4""#) && cronJob.contains(#"- "q/one.sql""#))
    }

    @Test func aPlatformTheTaskNamesButCannotRunItIsAnError() async throws {
        let project = try PackageProject(sql: "SELECT 1", taskSettings: "platforms = [\"kubernetes\", \"systemd\"]\n")
        try project.directory.write("taskshim.toml", "[tasks.tick]\nhandler = \"q/one.sql\"\nschedule = \"*/30 * * * * *\"\nplatforms = [\"kubernetes\", \"systemd\"]\n")
        let result = try await project.package("manifests")
        #expect(result.status == 65, "\(result.stderr)")
        #expect(result.stderr.contains("kubernetes: task tick not written") && result.stderr.contains("no seconds field"), "\(result.stderr)")
        #expect(result.stdout.contains("wrote dist/deploy/systemd/taskshim-tick.timer"), "what can be written is")
    }

    @Test func anUnknownTaskIsAUsageErrorListingTheTasks() async throws {
        let project = try PackageProject(sql: "SELECT 1")
        let result = try await project.package("manifests", ["--task", "nightly"])
        #expect(result.status == 64 && result.stderr.contains("has no task nightly") && result.stderr.contains("one"), "\(result.stderr)")
    }
}
}
