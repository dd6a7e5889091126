import FoundationEssentials
import TaskShimClients
import TaskShimCore

/// An OCI image built without a container engine, from scratch: a system layer (the loader, glibc and
/// every library the binary needs or opens on first use, at the paths this host's loader found them,
/// CA certificates, time zone data, a non-root user) and an application layer (the binary, and the
/// project's files in /app). Written as an OCI layout in a tar, which `skopeo`, `podman load` and
/// `docker load` read; every blob named by its SHA-256, computed through OpenSSL.
public struct ContainerImage: Sendable {
    /// The user the image runs as (the number distroless images use for "nonroot").
    public static let user: UInt32 = 65532

    public var architecture: SharedLibraries.Architecture
    public var system: [ArchiveEntry]
    public var application: [ArchiveEntry]

    /// Collects the layers' files. `certificates` and `zoneinfo` are left out when this host has none.
    public static func collect(binary: String, files: [ProjectFile], architecture: SharedLibraries.Architecture? = nil,
                               certificates: String = "/etc/ssl/certs/ca-certificates.crt",
                               zoneinfo: String = "/usr/share/zoneinfo") throws(TaskShimError) -> ContainerImage {
        let found = try SharedLibraries.Architecture(binary: binary, requested: architecture)
        var system: [ArchiveEntry] = []
        for library in try SharedLibraries.closure(of: binary, architecture: found) {
            let path = FilePath.join(FilePath.directory(of: library.path), library.name)
            system.append(try ArchiveEntry(path: String(path.drop { $0 == "/" }), file: library.path, mode: library.name == found.loaderName ? 0o755 : 0o644))
        }
        if let bundle = FileManager.default.contents(atPath: certificates) {
            system.append(ArchiveEntry(path: "etc/ssl/certs/ca-certificates.crt", contents: bundle, mode: 0o644))
        }
        system += zones(zoneinfo)
        system += [
            ArchiveEntry(path: "etc/passwd", contents: Data("root:x:0:0:root:/root:/sbin/nologin\ntaskshim:x:\(user):\(user):taskshim:/home/taskshim:/sbin/nologin\n".utf8), mode: 0o644),
            ArchiveEntry(path: "etc/group", contents: Data("root:x:0:\ntaskshim:x:\(user):\n".utf8), mode: 0o644),
            .directory("tmp", mode: 0o1777),
            .directory("home/taskshim", mode: 0o755, owner: user),
        ]
        var application = [try ArchiveEntry(path: "usr/local/bin/runtime", file: binary, mode: 0o755), .directory("app")]
        for file in files { application.append(try ArchiveEntry(path: "app/" + file.archivePath, file: file.source, mode: 0o644)) }
        return ContainerImage(architecture: found, system: system, application: application)
    }

    /// The OCI layout archive: `oci-layout`, `index.json` (the image tagged `tag`), Docker's
    /// `manifest.json`, and the blobs. `command` is the default arguments (`serve`).
    public func archive(tag: String, command: [String] = ["serve"], modified: Date? = nil) async throws -> (archive: Data, digest: String) {
        let created = Timestamp.format(modified ?? Date(timeIntervalSince1970: 0), fractional: false)
        var blobs: [(String, Data)] = []
        var layers: [JSONValue] = []
        var diffIDs: [JSONValue] = []
        let (system, application) = (self.system, self.application)
        // The layers are compressed side by side (the binary dominates the second).
        async let systemLayer = Self.layer(system, modified: modified)
        async let applicationLayer = Self.layer(application, modified: modified)
        for (blob, diffID) in try await [systemLayer, applicationLayer] {
            let digest = "sha256:" + (try SHA256.hex(blob))
            blobs.append((digest, blob))
            layers.append(.object(["mediaType": .string("application/vnd.oci.image.layer.v1.tar+gzip"), "digest": .string(digest), "size": .number(Double(blob.count))]))
            diffIDs.append(.string(diffID))
        }
        let config = JSONValue.object([
            "created": .string(created),
            "architecture": .string(architecture.ociName),
            "os": .string("linux"),
            "config": .object([
                "User": .string("\(Self.user):\(Self.user)"),
                "Entrypoint": .array([.string("/usr/local/bin/runtime")]),
                "Cmd": .array(command.map(JSONValue.string)),
                // /app is not the user's to write: the embedded databases go in its home.
                "Env": .array([.string("PATH=/usr/local/bin"), .string("PORT=8080"), .string("HOME=/home/taskshim"),
                               .string("TASKSHIM_DATA_DIR=/home/taskshim/.taskshim")]),
                "ExposedPorts": .object(["8080/tcp": .object([:])]),
                "WorkingDir": .string("/app"),
            ]),
            "rootfs": .object(["type": .string("layers"), "diff_ids": .array(diffIDs)]),
            "history": .array([
                .object(["created": .string(created), "created_by": .string("runtime package image: the loader, glibc, libraries, CA certificates, time zones, user \(Self.user)")]),
                .object(["created": .string(created), "created_by": .string("runtime package image: runtime and the project's files")]),
            ]),
        ])
        let configBlob = Data(config.encoded.utf8)
        let configDigest = "sha256:" + (try SHA256.hex(configBlob))
        blobs.append((configDigest, configBlob))
        let manifest = JSONValue.object([
            "schemaVersion": .number(2),
            "mediaType": .string("application/vnd.oci.image.manifest.v1+json"),
            "config": .object(["mediaType": .string("application/vnd.oci.image.config.v1+json"), "digest": .string(configDigest), "size": .number(Double(configBlob.count))]),
            "layers": .array(layers),
        ])
        let manifestBlob = Data(manifest.encoded.utf8)
        let manifestDigest = "sha256:" + (try SHA256.hex(manifestBlob))
        blobs.append((manifestDigest, manifestBlob))
        let reference = tag.split(separator: ":").count > 1 && !tag.hasSuffix("]") ? String(tag[tag.index(after: tag.lastIndex(of: ":")!)...]) : "latest"
        let index = JSONValue.object([
            "schemaVersion": .number(2),
            "mediaType": .string("application/vnd.oci.image.index.v1+json"),
            "manifests": .array([.object([
                "mediaType": .string("application/vnd.oci.image.manifest.v1+json"), "digest": .string(manifestDigest), "size": .number(Double(manifestBlob.count)),
                "annotations": .object(["org.opencontainers.image.ref.name": .string(reference), "io.containerd.image.name": .string(tag)]),
            ])]),
        ])
        let path = { (digest: String) in "blobs/sha256/" + digest.dropFirst("sha256:".count) }
        let docker = JSONValue.array([.object([
            "Config": .string(path(configDigest)),
            "RepoTags": .array([.string(tag)]),
            "Layers": .array(layers.compactMap { $0["digest"]?.string }.map { .string(path($0)) }),
        ])])
        var entries = [
            ArchiveEntry(path: "oci-layout", contents: Data(#"{"imageLayoutVersion":"1.0.0"}"#.utf8), mode: 0o644),
            ArchiveEntry(path: "index.json", contents: Data(index.encoded.utf8), mode: 0o644),
            ArchiveEntry(path: "manifest.json", contents: Data(docker.encoded.utf8), mode: 0o644),
        ]
        for (digest, blob) in blobs { entries.append(ArchiveEntry(path: path(digest), contents: blob, mode: 0o644)) }
        return (try TarArchive.write(entries, modified: modified), manifestDigest)
    }

    /// A layer: its gzip-compressed tar and the digest of the tar (its diff id).
    private static func layer(_ entries: [ArchiveEntry], modified: Date?) async throws -> (Data, String) {
        let tar = try TarArchive.write(entries, modified: modified)
        return (try Zlib.deflate(tar, format: .gzip, level: 4), "sha256:" + (try SHA256.hex(tar)))  // as the zip: see ZipArchive
    }

    /// The time zone files under `root` as usr/share/zoneinfo/...: the regions' files, not the
    /// `posix/` and `right/` copies nor links to directories; a link to a file is stored as that file.
    static func zones(_ root: String) -> [ArchiveEntry] {
        guard let names = try? FileManager.default.subpathsOfDirectory(atPath: root) else { return [] }
        var entries: [ArchiveEntry] = []
        for name in names.sorted() where !name.hasPrefix("posix") && !name.hasPrefix("right") {
            var isDirectory = false
            let path = root + "/" + name
            guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), !isDirectory,
                  let data = FileManager.default.contents(atPath: path) else { continue }
            entries.append(ArchiveEntry(path: "usr/share/zoneinfo/" + name, contents: data, mode: 0o644))
        }
        return entries
    }
}
