import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A redis-server of a test's own, on a loopback port nobody else uses, for tests that stop, restart
/// or block the server (the shared one of scripts/test serves concurrent tests). Persistence is on
/// (an append-only file fsynced every write), so a restart keeps the data as a managed Redis would.
public final class PrivateRedisServer: @unchecked Sendable {
    public let port: Int
    /// The TLS port, when started with a certificate.
    public let tlsPort: Int?
    private let directory: TemporaryDirectory
    private let extraArguments: [String]
    private var process: Process?

    /// Starts the server; `arguments` are added to its command line. With `tls`, it also serves
    /// TLS with that certificate on ``tlsPort`` (clients are not asked for one).
    public init(arguments: [String] = [], port: Int = closedPort(), tls: SelfSignedCertificate? = nil) async throws {
        self.port = port
        directory = try TemporaryDirectory()
        var arguments = arguments
        if let tls {
            let tlsPort = closedPort()
            self.tlsPort = tlsPort
            arguments += ["--tls-port", String(tlsPort), "--tls-cert-file", tls.certificate, "--tls-key-file", tls.key,
                          "--tls-ca-cert-file", tls.certificate, "--tls-auth-clients", "no"]
        } else {
            tlsPort = nil
        }
        extraArguments = arguments
        try await start()
    }

    public var url: String { "redis://127.0.0.1:\(port)/0" }

    /// `rediss://` to the TLS port at `host` (127.0.0.1 or localhost: the certificate names both).
    public func tlsURL(host: String = "127.0.0.1") -> String { "rediss://\(host):\(tlsPort ?? 0)/0" }

    /// Starts it (again) and waits until it answers PING.
    public func start() async throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["redis-server", "--bind", "127.0.0.1", "--port", String(port), "--dir", directory.path,
                             "--save", "", "--appendonly", "yes", "--appendfsync", "always", "--logfile", directory.file("redis.log")]
            + extraArguments
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        self.process = process
        for _ in 0..<200 {
            if ping() { return }
            try await Task.sleep(for: .milliseconds(25))
        }
        throw MissingServer(description: "redis-server on port \(port) did not start: \((try? String(contentsOfFile: directory.file("redis.log"), encoding: .utf8)) ?? "")")
    }

    /// Kills it (SIGKILL, a crash) and waits until it is gone.
    public func kill() async throws {
        guard let process else { return }
        Glibc.kill(process.processIdentifier, SIGKILL)
        try await offPool { waitForExit(process, timeout: 10) }
        self.process = nil
    }

    /// A crash and a start on the same port, the data kept by the append-only file.
    public func restart(after pause: Duration = .zero) async throws {
        try await kill()
        if pause > .zero { try await Task.sleep(for: pause) }
        try await start()
    }

    /// Whether something answers `PING` with `+PONG` on the port.
    private func ping() -> Bool {
        guard let fd = connectLoopback(port) else { return false }
        defer { close(fd) }
        let ping = Array("PING\r\n".utf8)
        guard send(fd, ping, ping.count, 0) == ping.count else { return false }
        var buffer = [UInt8](repeating: 0, count: 16)
        let received = recv(fd, &buffer, buffer.count, 0)
        return received >= 5 && buffer.prefix(5) == Array("+PONG".utf8)[...]
    }

    deinit {
        if let process { reapInBackground(process) }
    }
}
