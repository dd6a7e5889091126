import ArgumentParser
import FoundationEssentials
import TaskShimPackager

extension PackageCommand {
    struct Lambda: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "lambda",
            abstract: "Write a Lambda zip: bootstrap, runtime, its libraries (glibc and the loader included) and your files.",
            discussion: """
                The zip runs on provided.al2023 and provided.al2 whatever their glibc: `bootstrap` (a static \
                program) starts `runtime lambda` through the bundled loader with lib/ as its library path. It \
                holds every library the binary needs and the C libraries it opens on first use (libcurl, libpq, \
                libsqlite3, libssl, libhiredis) with theirs, as this host's loader finds them.

                Reproducible: entries sorted, one timestamp (SOURCE_DATE_EPOCH, else 1980-01-01), fixed modes. \
                Over Lambda's 250 MB unzipped limit is an error (exit 65); over 50 MB zipped, the zip is written \
                and must go through S3.

                Examples:
                  runtime package lambda
                  runtime package lambda --include window.sql
                """
        )

        @OptionGroup var inputs: PackageCommand.Inputs

        @Option(help: ArgumentHelp("The static Lambda entry point (default: `bootstrap` next to the binary).", valueName: "path"))
        var bootstrap: String?

        func run() async throws {
            guard let (runtime, io) = Runtime.current else { return }
            try await io.reportingErrors { _ throws(TaskShimError) in
                let started = ContinuousClock.now
                let binary = inputs.binaryPath()
                let launcher = bootstrap ?? FilePath.join(FilePath.directory(of: binary), "bootstrap")
                let (_, files, manifest) = try inputs.projectFiles(registry: runtime.registry)
                let bundle = try LambdaBundle.collect(binary: binary, bootstrap: launcher, files: files, architecture: inputs.arch?.value)
                let entries = try bundle.entries()
                let say = { (line: String) in io.standardError.write(line: line) }
                say("packaging \(binary) for Lambda (\(bundle.architecture.rawValue))")
                let librarySize = entries.filter { $0.path.hasPrefix("lib/") }.reduce(0) { $0 + $1.contents.count }
                say("  libraries: \(bundle.libraries.count), \(ByteCount.format(librarySize)) (glibc and its loader included)")
                say("  project files: " + (files.isEmpty ? "none" : files.map(\.archivePath).joined(separator: ", ")))
                let unzipped = entries.reduce(0) { $0 + $1.contents.count }
                say("  compressing \(entries.count) files, \(ByteCount.format(unzipped))...")
                let modified = PackageCommand.sourceDate(io.environment)
                let zip: Data
                do { zip = try await LambdaBundle.zip(entries, modified: modified) } catch { throw .wrapping(error) }
                let path = inputs.output(named: "taskshim-lambda-\(bundle.architecture.rawValue).zip")
                try PackageCommand.write(zip, to: path)
                io.standardOutput.write(line: "wrote \(path): \(ByteCount.format(zip.count)) (\(ByteCount.format(unzipped)) unzipped, \(entries.count) files) in \(PackageCommand.seconds(since: started)) s")
                let handler = manifest?.tasks.first?.handler ?? files.first { $0.archivePath.hasSuffix(".sql") }?.archivePath ?? "HANDLER"
                let limits = LambdaBundle.Limits()
                if zip.count > limits.zipped {
                    io.standardOutput.write(lines: [
                        "It is over the \(ByteCount.format(limits.zipped)) limit for a direct upload: put it in S3 and point the function at it:",
                        "  aws s3 cp \(path) s3://BUCKET/\(FilePath.stem(path)).zip",
                        "  aws lambda create-function --function-name NAME --runtime provided.al2023 --architectures \(bundle.architecture.rawValue) \\",
                        "    --handler \(handler) --role ROLE_ARN --code S3Bucket=BUCKET,S3Key=\(FilePath.stem(path)).zip",
                    ])
                } else {
                    io.standardOutput.write(lines: [
                        "Deploy it:",
                        "  aws lambda create-function --function-name NAME --runtime provided.al2023 --architectures \(bundle.architecture.rawValue) \\",
                        "    --handler \(handler) --role ROLE_ARN --zip-file fileb://\(path)",
                        "docs/deploy/lambda.md walks through it (SAM: runtime package manifests).",
                    ])
                }
            }
        }
    }
}
