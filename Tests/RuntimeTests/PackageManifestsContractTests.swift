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

    @Test func everyFileIsAcceptedByItsPlatformsValidator() async throws {
        let project = try PackageProject(sql: "SELECT 1")
        try project.directory.write("taskshim.toml", try String(contentsOfFile: RepositoryPaths.path("Tests/Support/deploy-manifest.toml"), encoding: .utf8))
        try project.directory.write("q/report.sql", "SELECT 1")
        let result = try await project.package("manifests")
        // The hour-long task asks for Lambda, which runs 15 minutes at most: refused, the rest written.
        #expect(result.status == 65 && result.stderr.contains("lambda: task long not written"), "\(result.stderr)")
        // cfn-lint, kubernetes-validate (the Kubernetes API schemas), Cloud Run's required fields, json, croniter, systemd-analyze.
        let check = try await runProcessAsync("/usr/bin/env", ["python3", RepositoryPaths.path("Tests/Support/deploy_check.py"), project.file("dist/deploy")])
        #expect(check.status == 0, "\(check.stdout)\(check.stderr)")
        for line in ["ok template.yaml cfn-lint", "ok kubernetes/hourly-report.cronjob.yaml kubernetes-validate", "ok cloud-run/long.service.yaml fields",
                     "ok cloud-run/paris.job.yaml fields", "ok ecs/paris.schedule.json json", "ok crontab croniter", "ok systemd/taskshim-every-30s.timer systemd-analyze"] {
            #expect(check.stdout.contains(line), "\(line)\n\(check.stdout)")
        }
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
