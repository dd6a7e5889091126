import ArgumentParser
import FoundationEssentials
import TaskShimPackager

extension PackageCommand {
    struct Image: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "image",
            abstract: "Write a container image (an OCI layout tar) without Docker: from scratch, runtime and what it needs.",
            discussion: """
                Two layers: the dynamic loader, glibc and the libraries (at the paths this host's loader found \
                them), CA certificates, time zone data and the user taskshim (65532); then runtime as \
                /usr/local/bin/runtime and your manifest and handler files in /app, the working directory. \
                Entrypoint runtime, command `serve` on port 8080; `docker run IMAGE exec window.sql` runs a job.

                Load it with `docker load -i`, `podman load -i` or `skopeo copy oci-archive:...`. Same input, \
                same bytes and digest (SOURCE_DATE_EPOCH sets the time stamps, else 1970-01-01).

                Examples:
                  runtime package image
                  runtime package image --tag europe-docker.pkg.dev/acme/jobs/reports:1.4 --out dist/reports.tar
                """
        )

        @OptionGroup var inputs: PackageCommand.Inputs

        @Option(help: ArgumentHelp("The image's name and tag (default: the project directory's name, :latest).", valueName: "name:tag"))
        var tag: String?

        func run() async throws {
            guard let (runtime, io) = Runtime.current else { return }
            try await io.reportingErrors { _ throws(TaskShimError) in
                let started = ContinuousClock.now
                let binary = inputs.binaryPath()
                let (root, files, _) = try inputs.projectFiles(registry: runtime.registry)
                let name = tag ?? Self.defaultTag(root: root)
                let say = { (line: String) in io.standardError.write(line: line) }
                let image = try ContainerImage.collect(binary: binary, files: files, architecture: inputs.arch?.value)
                let size = { (entries: [ArchiveEntry]) in ByteCount.format(entries.reduce(0) { $0 + $1.contents.count }) }
                say("packaging \(binary) as the image \(name) (linux/\(image.architecture.ociName))")
                say("  system layer: \(image.system.count) files, \(size(image.system)) (loader, glibc, libraries, CA certificates, time zones)")
                say("  application layer: runtime and " + (files.isEmpty ? "no project files" : files.map(\.archivePath).joined(separator: ", ")) + ", \(size(image.application))")
                let modified = PackageCommand.sourceDate(io.environment)
                let (archive, digest): (Data, String)
                do { (archive, digest) = try await image.archive(tag: name, modified: modified) } catch { throw .wrapping(error) }
                let path = inputs.output(named: "taskshim-image-\(image.architecture.rawValue).tar")
                try PackageCommand.write(archive, to: path)
                io.standardOutput.write(lines: [
                    "wrote \(path): \(ByteCount.format(archive.count)), image \(name), manifest \(digest), in \(PackageCommand.seconds(since: started)) s",
                    "Load and push it:",
                    "  docker load -i \(path) && docker push \(name)",
                    "  skopeo copy oci-archive:\(path) docker://\(name)",
                    "docs/deploy/cloud-run.md and docs/deploy/ecs.md walk through deploying it.",
                ])
            }
        }

        /// `reports:latest` for a project in `.../reports` (lowercased, other characters as `-`).
        static func defaultTag(root: String) -> String {
            let directory = FilePath.resolved(root).map { $0.split(separator: "/").last.map(String.init) ?? "taskshim" } ?? "taskshim"
            let name = String(directory.lowercased().map { $0.isLetter && $0.isASCII || $0.isNumber || "._-".contains($0) ? $0 : "-" })
            return (name.isEmpty ? "taskshim" : name) + ":latest"
        }
    }
}
