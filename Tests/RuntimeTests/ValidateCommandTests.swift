import Foundation
import Testing
import TestSupport

extension ProcessDrivingTests {
/// `runtime validate` through the binary.
@Suite struct ValidateCommandTests {
    @Test func aValidManifestListsItsTasksAndABadOneEveryProblem() async throws {
        let directory = try TemporaryDirectory()
        try FileManager.default.createDirectory(atPath: directory.file("handlers"), withIntermediateDirectories: true)
        _ = try directory.write("handlers/hourly.sql", "SELECT 1\n")
        _ = try directory.write("taskshim.toml", """
            [tasks.hourly]
            handler = "handlers/hourly.sql"
            schedule = "0 * * * *"
            time_zone = "Europe/Berlin"

            [tasks.report]
            handler = "echo"
            schedule = "Mon-Fri 09:00"
            """)
        let good = try await runProcessAsync(RepositoryPaths.runtimeBinary, ["validate"], directory: directory.path)
        #expect(good.status == 0 && good.stdout.contains("ok  hourly  0 * * * * (Europe/Berlin)") && good.stdout.contains("2 task(s), valid"),
                "\(good.stdout)\(good.stderr)")
        // The manifest's own directory resolves the file, wherever runtime runs.
        let elsewhere = try await runProcessAsync(RepositoryPaths.runtimeBinary, ["validate", directory.file("taskshim.toml")])
        #expect(elsewhere.status == 0, "\(elsewhere.stderr)")

        _ = try directory.write("bad.toml", "[tasks.a]\nhandler = \"handlers/missing.sql\"\nschedule = \"0 25 * * *\"\n")
        let bad = try await runProcessAsync(RepositoryPaths.runtimeBinary, ["validate", "bad.toml"], directory: directory.path)
        #expect(bad.status == 65, "\(bad.stderr)")
        #expect(bad.stderr.contains("bad.toml:2: tasks.a.handler: 'handlers/missing.sql' is neither"))
        #expect(bad.stderr.contains("bad.toml:3: tasks.a.schedule: '25' is not a valid hour value"))
        let missing = try await runProcessAsync(RepositoryPaths.runtimeBinary, ["validate", "nothere.toml"], directory: directory.path)
        #expect(missing.status == 66 && missing.stderr.contains("nothere.toml cannot be read"))
    }
}
}
