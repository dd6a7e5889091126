import Foundation
import Testing
import TaskShimClients
import TestSupport

extension ProcessDrivingTests {
/// `runtime package lambda`: the zip, unpacked into an empty root, runs against cargo-lambda's emulator.
@Suite struct PackageLambdaContractTests {
    func project() throws -> PackageProject {
        try PackageProject(sql: "SELECT 'from the bundle' AS element_name, :window_start AS timestamp, 'f' AS filter, 1 AS value")
    }

    @Test func theZipRunsInAnEmptyRootThroughItsBootstrap() async throws {
        let project = try project()
        let packaged = try await project.package("lambda")
        #expect(packaged.status == 0, "\(packaged.stderr)")
        #expect(packaged.stdout.contains("wrote dist/taskshim-lambda-x86_64.zip") && packaged.stdout.contains("--handler q/one.sql"), "\(packaged.stdout)")
        #expect(packaged.stderr.contains("project files: taskshim.toml, q/one.sql"), "\(packaged.stderr)")
        // A root holding the bundle alone (and /proc, which every Lambda has), in a mount namespace of its own.
        let root = try TemporaryDirectory()
        for directory in ["var/task", "tmp"] { try FileManager.default.createDirectory(atPath: root.file(directory), withIntermediateDirectories: true) }
        let unzipped = try await runProcessAsync("/usr/bin/env", ["unzip", "-q", project.file("dist/taskshim-lambda-x86_64.zip"), "-d", root.file("var/task")])
        try #require(unzipped.status == 0, "\(unzipped.stderr)")
        let emulator = try await LambdaEmulator.start()
        let receiver = try await RecordingReceiver.start()
        let bootstrap = try ProcessInRoot(root.path, ["/var/task/bootstrap"], environment: [
            "AWS_LAMBDA_RUNTIME_API": emulator.runtimeAPI, "_HANDLER": "q/one.sql", "LAMBDA_TASK_ROOT": "/var/task",
            "DATABASE_URL": try TestServers.postgresURL(), "TELEMETRY_URL": receiver.url, "TASKSHIM_DATA_DIR": "/tmp/data"])
        let response = try await HTTPClient().send(HTTPRequest(method: "POST", url: emulator.invokeURL, body: Data("{}".utf8)))
        let body = String(decoding: response.body, as: UTF8.self)
        let output = bootstrap.output
        #expect(response.status == 200, "\(body)\n\(output)")
        // The query ran through the bundle's libpq, its record went out through the bundle's libcurl:
        // the root holds nothing else they could have come from.
        #expect(receiver.requests.count == 1 && receiver.requests.first?.body.contains("from the bundle") == true, "\(output)")
        #expect(!FileManager.default.fileExists(atPath: root.file("usr")))
    }

    @Test func packagingTwiceGivesTheSameBytes() async throws {
        let project = try project()
        #expect(try await project.package("lambda", ["--out", "a"]).status == 0)
        // Touched files and another directory change nothing.
        try FileManager.default.setAttributes([.modificationDate: Date()], ofItemAtPath: project.file("q/one.sql"))
        #expect(try await project.package("lambda", ["--out", "b"]).status == 0)
        let (a, b) = (FileManager.default.contents(atPath: project.file("a/taskshim-lambda-x86_64.zip")),
                      FileManager.default.contents(atPath: project.file("b/taskshim-lambda-x86_64.zip")))
        #expect(a != nil && a == b)
    }

    @Test func aMissingHandlerFileIsRefusedWithItsTaskAndLine() async throws {
        let project = try project()
        try FileManager.default.removeItem(atPath: project.file("q/one.sql"))
        let result = try await project.package("lambda")
        #expect(result.status == 65 && result.stderr.contains("line 2") && result.stderr.contains("q/one.sql"), "\(result.stderr)")
        #expect(!FileManager.default.fileExists(atPath: project.file("dist")))
    }

    @Test func aFileOutsideTheProjectIsRefused() async throws {
        let parent = try TemporaryDirectory()
        _ = try parent.write("secret.sql", "SELECT 'not yours'")
        _ = try parent.write("project/keep", "")
        let result = try await runProcessAsync(RepositoryPaths.runtimeBinary, ["package", "lambda", "--include", "../secret.sql"], directory: parent.file("project"))
        #expect(result.status == 65 && result.stderr.contains("outside the project"), "\(result.stderr)")
    }

    @Test func anotherArchitectureThanTheBinarysIsAUsageError() async throws {
        let result = try await project().package("lambda", ["--arch", "arm64"])
        #expect(result.status == 64 && result.stderr.contains("built for x86_64"), "\(result.stderr)")
    }
}
}
