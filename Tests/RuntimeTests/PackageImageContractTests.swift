import Foundation
import Testing
import TaskShimClients
import TestSupport

extension ProcessDrivingTests {
/// `runtime package image`: skopeo reads the archive (as an OCI layout and as `docker load` would),
/// umoci unpacks it, and the root filesystem it unpacks serves HTTP as the image's non-root user,
/// with nothing from the host.
@Suite struct PackageImageContractTests {
    func project() throws -> PackageProject {
        try PackageProject(sql: "SELECT 1 AS one", taskSettings: "time_zone = \"Europe/Paris\"\n")
    }

    @Test func skopeoReadsItUmociUnpacksItAndItServesAsItsUser() async throws {
        let project = try project()
        let packaged = try await project.package("image", ["--tag", "example.com/reports:1.4", "--out", "dist/reports.tar"])
        #expect(packaged.status == 0 && packaged.stdout.contains("wrote dist/reports.tar"), "\(packaged.stdout)\(packaged.stderr)")
        let archive = project.file("dist/reports.tar")
        let inspected = try await runProcessAsync("/usr/bin/env", ["skopeo", "inspect", "--config", "oci-archive:" + archive])
        let config = try #require(try JSONSerialization.jsonObject(with: Data(inspected.stdout.utf8)) as? [String: Any], "\(inspected.stderr)")
        let settings = config["config"] as? [String: Any]
        #expect(config["architecture"] as? String == "amd64" && config["os"] as? String == "linux")
        #expect(settings?["User"] as? String == "65532:65532" && settings?["Entrypoint"] as? [String] == ["/usr/local/bin/runtime"])
        #expect(settings?["Cmd"] as? [String] == ["serve"] && (settings?["Env"] as? [String])?.contains("PORT=8080") == true)
        #expect(((config["rootfs"] as? [String: Any])?["diff_ids"] as? [String])?.count == 2)
        let scratch = try TemporaryDirectory()
        // The same archive read as `docker load` reads it (Docker's manifest.json), every layer copied out.
        let copied = try await runProcessAsync("/usr/bin/env", ["skopeo", "copy", "-q", "docker-archive:" + archive, "dir:" + scratch.file("docker")])
        #expect(copied.status == 0, "\(copied.stderr)")
        // umoci checks every blob's digest and size as it unpacks.
        let untarred = try await runProcessAsync("/usr/bin/env", ["tar", "-xf", archive, "-C", scratch.path])
        try #require(untarred.status == 0)
        let unpacked = try await runProcessAsync("/usr/bin/env", ["umoci", "unpack", "--image", scratch.path + ":1.4", scratch.file("bundle")])
        try #require(unpacked.status == 0, "\(unpacked.stderr)")
        let rootfs = scratch.file("bundle/rootfs")
        #expect(FileManager.default.fileExists(atPath: rootfs + "/app/q/one.sql") && FileManager.default.fileExists(atPath: rootfs + "/app/taskshim.toml"))
        #expect(!FileManager.default.fileExists(atPath: rootfs + "/bin/sh"), "no shell: from scratch")
        // Time zones from the image: the manifest's Europe/Paris task validates inside it.
        let validate = try ProcessInRoot(rootfs, ["/usr/local/bin/runtime", "validate", "/app/taskshim.toml"], user: "65532:65532")
        #expect(try await validate.wait() == 0 && validate.output.contains("Europe/Paris"), "\(validate.output)")
        // And it serves HTTP as user 65532.
        let port = closedPort()
        let server = try ProcessInRoot(rootfs, ["/usr/local/bin/runtime", "serve"], user: "65532:65532", environment: ["PORT": String(port), "FUNCTION_TARGET": "echo"])
        try await offPool {
            let end = Date().addingTimeInterval(15)
            while !LambdaEmulator.accepts(port) && Date() < end { usleep(50_000) }
        }
        let response = try await HTTPClient().send(HTTPRequest(method: "POST", url: "http://127.0.0.1:\(port)/", body: Data(#"{"from":"the image"}"#.utf8)))
        #expect(response.status == 200 && String(decoding: response.body, as: UTF8.self).contains("the image"),
                "\(server.output)")
        let status = (try? String(contentsOfFile: "/proc/\(server.process.processIdentifier)/status", encoding: .utf8)) ?? ""
        #expect(status.split(separator: "\n").first { $0.hasPrefix("Uid:") }?.split(separator: "\t").dropFirst().first == "65532", "\(status)")
    }

    @Test func packagingTwiceGivesTheSameBytesAndDigest() async throws {
        let project = try project()
        let first = try await project.package("image", ["--out", "a.tar"])
        let second = try await project.package("image", ["--out", "b.tar"])
        #expect(first.status == 0 && second.status == 0, "\(first.stderr)")
        #expect(FileManager.default.contents(atPath: project.file("a.tar")) == FileManager.default.contents(atPath: project.file("b.tar")))
        #expect(first.stdout.split(separator: ",").dropFirst(2).first == second.stdout.split(separator: ",").dropFirst(2).first, "the manifest digest")
        #expect(first.stdout.contains("image \(URL(fileURLWithPath: project.directory.path).lastPathComponent.lowercased()):latest"), "\(first.stdout)")
    }
}
}
