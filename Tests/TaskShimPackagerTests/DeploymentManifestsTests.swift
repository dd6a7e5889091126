import Foundation
import Testing
import TaskShimPackager
import TaskShimSchedule
import TestSupport

/// The deployment files and the schedules in them. Their validation by each platform's own tools is
/// in RuntimeTests' PackageManifestsContractTests (one process at a time: cfn-lint is heavy).
struct DeploymentManifestsTests {
    static var manifest: String {
        get throws { try String(contentsOfFile: RepositoryPaths.path("Tests/Support/deploy-manifest.toml"), encoding: .utf8) }
    }

    func build() throws -> (files: [DeploymentManifests.File], refusals: [DeploymentManifests.Refusal]) {
        let (parsed, problems) = TaskManifest.read(try Self.manifest, handlerExists: { _ in true })
        let manifest = try #require(parsed, "\(problems)")
        return DeploymentManifests.build(manifest, settings: .init(image: "example.com/reports:1.4", lambdaZip: "../taskshim-lambda-x86_64.zip", architecture: .x86_64))
    }

    @Test func eachPlatformGetsItsFiles() throws {
        let (files, _) = try build()
        #expect(Set(files.map(\.path)).isSuperset(of: [
            "template.yaml", "crontab", "cloud-run/hourly-report.job.yaml", "cloud-run/hourly-report.schedule.sh", "ecs/paris.task-definition.json",
            "ecs/paris.schedule.json", "kubernetes/paris.cronjob.yaml", "systemd/taskshim-paris.service", "systemd/taskshim-paris.timer",
            "kubernetes/long.cronjob.yaml", "cloud-run/long.service.yaml",
        ]))
    }

    @Test func theSchedulesAreWrittenForEachPlatformWithTheirZoneAndPolicy() throws {
        let (files, _) = try build()
        let file = { (path: String) in files.first { $0.path == path }?.contents ?? "" }
        #expect(file("template.yaml").contains(#"ScheduleExpression: "cron(0 9 ? * 2-6 *)""#))
        #expect(file("template.yaml").contains(#"ScheduleExpressionTimezone: "Europe/Paris""#))
        #expect(file("kubernetes/hourly-report.cronjob.yaml").contains(#"concurrencyPolicy: "Forbid""#))
        #expect(file("kubernetes/hourly-report.cronjob.yaml").contains("startingDeadlineSeconds: 300"))
        #expect(file("kubernetes/paris.cronjob.yaml").contains(#"timeZone: "Europe/Paris""#))
        #expect(file("crontab").contains("CRON_TZ=Europe/Paris\n0 9 * * 1-5 cd /srv/taskshim && /usr/local/bin/runtime exec 'echo'"))
        #expect(file("systemd/taskshim-paris.timer").contains("OnCalendar=Mon..Fri *-*-* 09:00:00 Europe/Paris\n") && file("systemd/taskshim-paris.timer").contains("RandomizedDelaySec=30"))
        #expect(file("systemd/taskshim-hourly-report.service").contains(#"Environment="STREAM=edge's""#))
        #expect(file("cloud-run/hourly-report.schedule.sh").contains("--schedule '0 * * * *' --time-zone 'UTC'"))
    }

    @Test func aScheduleAPlatformCannotExpressIsRefusedWithWhy() throws {
        let (files, refusals) = try build()
        // Seconds: only systemd can; the others say so (a note: the task named no platform).
        let fast = refusals.filter { $0.task == "every-30s" }
        #expect(Set(fast.map(\.platform)) == ["lambda", "cloud-run-job", "ecs", "kubernetes", "crontab"] && fast.allSatisfy { !$0.requested })
        #expect(fast.first?.reason.contains("no seconds field") == true)
        #expect(files.contains { $0.path == "systemd/taskshim-every-30s.timer" })
        // An hour is longer than Lambda runs: the task asked for Lambda, so it is an error.
        let long = try #require(refusals.first { $0.task == "long" })
        #expect(long.platform == "lambda" && long.requested && long.reason.contains("900 s"))
        #expect(!files.contains { $0.path.hasPrefix("systemd/taskshim-long") }, "only the platforms it names")
    }
}
