import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// moto's server (PyPI `moto[server]`), the AWS API stand-in, on a loopback port of its own; killed
/// when the value goes away. moto answers like AWS but does not check request signatures.
public final class MotoServer: @unchecked Sendable {
    public let port: Int
    private let process: Process

    public init() async throws {
        port = closedPort()
        process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", "-m", "moto.server", "-H", "127.0.0.1", "-p", String(port)]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        for _ in 0..<400 {
            if let fd = connectLoopback(port) {
                close(fd)
                return
            }
            try await Task.sleep(for: .milliseconds(25))
        }
        kill(process.processIdentifier, SIGKILL)
        throw MissingServer(description: "moto's server did not start on port \(port): pip install 'moto[server]' (scripts/install-deps --python).")
    }

    public var url: String { "http://127.0.0.1:\(port)" }

    /// Creates a Secrets Manager secret (moto accepts any credentials), through boto3 which moto brings.
    public func createSecret(name: String, value: String, region: String = "eu-west-1") throws {
        let script = """
            import boto3, sys
            boto3.client("secretsmanager", region_name=sys.argv[2], endpoint_url=sys.argv[1], aws_access_key_id="AKIDMOTO",
                         aws_secret_access_key="moto").create_secret(Name=sys.argv[3], SecretString=sys.stdin.read())
            """
        let result = try runProcess("/usr/bin/env", ["python3", "-c", script, url, region, name], input: Data(value.utf8))
        guard result.status == 0 else { throw MissingServer(description: "moto refused the secret \(name): \(result.stderr)") }
    }

    deinit { reapInBackground(process) }
}
