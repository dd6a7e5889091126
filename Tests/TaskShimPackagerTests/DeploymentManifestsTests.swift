import Foundation
import Testing
import TaskShimPackager
import TaskShimSchedule
import TestSupport

/// The deployment files, checked by each platform's own validators (Tests/Support/deploy_check.py:
/// cfn-lint, kubernetes-validate, croniter, systemd-analyze).
struct DeploymentManifestsTests {
    static let manifest = """
        [tasks.hourly-report]
        handler = "q/report.sql"
        schedule = "0 * * * *"
        timeout = "2m"
        retries = 2
        memory_mib = 512
        concurrency = "forbid"
        starting_deadline = "5m"
        environment = { STREAM = "edge's" }

        [tasks.paris]
        handler = "echo"
        schedule = "Mon-Fri 09:00"
        time_zone = "Europe/Paris"
        jitter = "30s"

        [tasks.every-30s]
        handler = "echo"
        schedule = "*/30 * * * * *"

        [tasks.long]
        handler = "echo"
        schedule = "rate(1 day)"
        timeout = "1h"
        platforms = ["lambda", "kubernetes", "cloud-run"]
        """

    func build() throws -> (files: [DeploymentManifests.File], refusals: [DeploymentManifests.Refusal]) {
        let (parsed, problems) = TaskManifest.read(Self.manifest, handlerExists: { _ in true })
        let manifest = try #require(parsed, "\(problems)")
        return DeploymentManifests.build(manifest, settings: .init(image: "example.com/reports:1.4", lambdaZip: "../taskshim-lambda-x86_64.zip", architecture: .x86_64))
    }

    @Test func everyFileIsAcceptedByItsPlatformsValidator() async throws {
        let (files, _) = try build()
        let directory = try TemporaryDirectory()
        for file in files { try directory.write(file.path, file.contents) }
        let check = try await runProcessAsync("/usr/bin/env", ["python3", RepositoryPaths.path("Tests/Support/deploy_check.py"), directory.path])
        #expect(check.status == 0, "\(check.stdout)\(check.stderr)")
        #expect(check.stdout.contains("ok template.yaml cfn-lint") && check.stdout.contains("ok kubernetes/hourly-report.cronjob.yaml kubernetes-validate"),
                "\(check.stdout)")
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
