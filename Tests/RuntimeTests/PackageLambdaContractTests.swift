import Foundation
import Testing
import TaskShimClients
import TestSupport

extension ProcessDrivingTests {
/// `runtime package lambda`: the zip, unpacked into an empty root, runs against cargo-lambda's emulator.
@Suite struct PackageLambdaContractTests {
    /// A project with a manifest whose task runs a `.sql` handler.
    func project() throws -> TemporaryDirectory {
        let project = try TemporaryDirectory()
        _ = try project.write("taskshim.toml", "[tasks.one]\nhandler = \"q/one.sql\"\nschedule = \"0 * * * *\"\n")
        _ = try project.write("q/one.sql", "SELECT 'from the bundle' AS element_name, :window_start AS timestamp, 'f' AS filter, 1 AS value")
        return project
    }

    func package(_ project: TemporaryDirectory, _ arguments: [String] = [], environment: [String: String] = [:]) async throws -> ProcessResult {
        try await runProcessAsync(RepositoryPaths.runtimeBinary, ["package", "lambda"] + arguments, environment: environment, directory: project.path)
    }

    @Test func theZipRunsInAnEmptyRootThroughItsBootstrap() async throws {
        let project = try project()
        let packaged = try await package(project)
        #expect(packaged.status == 0, "\(packaged.stderr)")
        #expect(packaged.stdout.contains("wrote dist/taskshim-lambda-x86_64.zip") && packaged.stdout.contains("--handler q/one.sql"), "\(packaged.stdout)")
        #expect(packaged.stderr.contains("project files: taskshim.toml, q/one.sql"), "\(packaged.stderr)")
        // A root holding the bundle alone (and /proc, which every Lambda has), in a mount namespace of its own.
        let root = try TemporaryDirectory()
        for directory in ["var/task", "proc", "tmp"] { try FileManager.default.createDirectory(atPath: root.file(directory), withIntermediateDirectories: true) }
        let unzipped = try runProcess("/usr/bin/env", ["unzip", "-q", project.file("dist/taskshim-lambda-x86_64.zip"), "-d", root.file("var/task")])
        try #require(unzipped.status == 0, "\(unzipped.stderr)")
        let emulator = try await LambdaEmulator.start()
        let receiver = try await RecordingReceiver.start()
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/unshare")
        process.arguments = ["--mount", "--", "/bin/sh", "-c", #"mount -t proc proc "$0/proc" && exec /usr/sbin/chroot "$0" /var/task/bootstrap"#, root.path]
        process.environment = ["AWS_LAMBDA_RUNTIME_API": emulator.runtimeAPI, "_HANDLER": "q/one.sql", "LAMBDA_TASK_ROOT": "/var/task",
                               "DATABASE_URL": try TestServers.postgresURL(), "TELEMETRY_URL": receiver.url, "TASKSHIM_DATA_DIR": "/tmp/data",
                               "PATH": "/usr/bin:/bin:/usr/sbin:/sbin"]
        let logs = try TemporaryDirectory()
        let log = try logs.write("out", "")
        process.standardOutput = try FileHandle(forWritingTo: URL(fileURLWithPath: log))
        process.standardError = process.standardOutput
        try process.run()
        defer {
            kill(process.processIdentifier, SIGKILL)
            waitForExit(process)
        }
        let response = try await HTTPClient().send(HTTPRequest(method: "POST", url: emulator.invokeURL, body: Data("{}".utf8)))
        let body = String(decoding: response.body, as: UTF8.self)
        let output = (try? String(contentsOfFile: log, encoding: .utf8)) ?? ""
        #expect(response.status == 200, "\(body)\n\(output)")
        // The query ran through the bundle's libpq, its record went out through the bundle's libcurl:
        // the root holds nothing else they could have come from.
        #expect(receiver.requests.count == 1 && receiver.requests.first?.body.contains("from the bundle") == true, "\(output)")
        #expect(!FileManager.default.fileExists(atPath: root.file("usr")))
    }

    @Test func packagingTwiceGivesTheSameBytes() async throws {
        let project = try project()
        #expect(try await package(project, ["--out", "a"]).status == 0)
        // Touched files and another directory change nothing.
        try FileManager.default.setAttributes([.modificationDate: Date()], ofItemAtPath: project.file("q/one.sql"))
        #expect(try await package(project, ["--out", "b"]).status == 0)
        let (a, b) = (FileManager.default.contents(atPath: project.file("a/taskshim-lambda-x86_64.zip")),
                      FileManager.default.contents(atPath: project.file("b/taskshim-lambda-x86_64.zip")))
        #expect(a != nil && a == b)
    }

    @Test func aMissingHandlerFileIsRefusedWithItsTaskAndLine() async throws {
        let project = try TemporaryDirectory()
        _ = try project.write("taskshim.toml", "[tasks.nightly]\nhandler = \"nightly.sql\"\nschedule = \"0 3 * * *\"\n")
        let result = try await package(project)
        #expect(result.status == 65 && result.stderr.contains("line 2") && result.stderr.contains("nightly.sql"), "\(result.stderr)")
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
        let result = try await package(try project(), ["--arch", "arm64"])
        #expect(result.status == 64 && result.stderr.contains("built for x86_64"), "\(result.stderr)")
    }
}
}
