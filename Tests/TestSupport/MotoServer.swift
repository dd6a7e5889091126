import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// moto's server (PyPI `moto[server]`), the AWS API stand-in, on a loopback port of its own; killed
/// when the value goes away. By default moto accepts any credentials; with `checkingSignatures` it
/// authenticates every call after its setup as AWS does (the access key must exist, the SigV4
/// signature must match, the policy must allow the action).
public final class MotoServer: @unchecked Sendable {
    /// The IAM user and role a signature-checking server is set up with.
    public struct Identity: Sendable {
        public var accessKeyID: String
        public var secretAccessKey: String
        /// A role any web identity may assume (for AssumeRoleWithWebIdentity).
        public var roleARN: String
    }

    public let port: Int
    /// The user whose keys the server accepts, when it checks signatures.
    public private(set) var identity: Identity?
    private let process: Process

    /// - Parameter uncheckedCalls: with `checkingSignatures`, how many calls after the setup are still
    ///   let through unauthenticated. moto authenticates every call, even STS AssumeRoleWithWebIdentity,
    ///   which AWS takes unsigned: a test that makes that call lets it through this way.
    public init(checkingSignatures: Bool = false, uncheckedCalls: Int = 0) async throws {
        port = closedPort()
        process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", "-m", "moto.server", "-H", "127.0.0.1", "-p", String(port)]
        if checkingSignatures {
            var environment = ProcessInfo.processInfo.environment
            environment["INITIAL_NO_AUTH_ACTION_COUNT"] = String(Self.setupCalls + uncheckedCalls)
            process.environment = environment
        }
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        var started = false
        for _ in 0..<400 {
            if let fd = connectLoopback(port) {
                close(fd)
                started = true
                break
            }
            try await Task.sleep(for: .milliseconds(25))
        }
        guard started else {
            kill(process.processIdentifier, SIGKILL)
            throw MissingServer(description: "moto's server did not start on port \(port): pip install 'moto[server]' (scripts/install-deps --python).")
        }
        if checkingSignatures {
            let server = UncheckedSendable(self)
            identity = try await offPool { try server.value.setUp() }
        }
    }

    /// The calls `setUp` makes, all before moto starts checking.
    private static let setupCalls = 5

    func setUp() throws -> Identity {
        let script = """
            import boto3, json, sys
            iam = boto3.client("iam", endpoint_url=sys.argv[1], region_name="us-east-1", aws_access_key_id="AKIDSETUP", aws_secret_access_key="setup")
            allow = json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]})
            trust = json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"Federated": "oidc"},
                                "Action": "sts:AssumeRoleWithWebIdentity"}]})
            iam.create_user(UserName="taskshim")
            key = iam.create_access_key(UserName="taskshim")["AccessKey"]
            iam.put_user_policy(UserName="taskshim", PolicyName="all", PolicyDocument=allow)
            role = iam.create_role(RoleName="taskshim-pod", AssumeRolePolicyDocument=trust)["Role"]["Arn"]
            iam.put_role_policy(RoleName="taskshim-pod", PolicyName="all", PolicyDocument=allow)
            print(key["AccessKeyId"], key["SecretAccessKey"], role)
            """
        let result = try runProcess("/usr/bin/env", ["python3", "-c", script, url])
        let words = result.stdout.split(separator: " ").map { $0.trimmingCharacters(in: .whitespacesAndNewlines) }
        guard result.status == 0, words.count == 3 else { throw MissingServer(description: "moto's IAM setup failed: \(result.stderr)") }
        return Identity(accessKeyID: words[0], secretAccessKey: words[1], roleARN: words[2])
    }

    public var url: String { "http://127.0.0.1:\(port)" }

    /// ``createSecret(name:value:region:)`` off the cooperative pool.
    public func createSecret(name: String, value: String, region: String = "eu-west-1") async throws {
        let server = UncheckedSendable(self)
        try await offPool { try server.value.createSecretBlocking(name: name, value: value, region: region) }
    }

    /// Creates a Secrets Manager secret through boto3 (which moto brings), with the server's user's keys
    /// when it checks signatures.
    public func createSecretBlocking(name: String, value: String, region: String = "eu-west-1") throws {
        let script = """
            import boto3, sys
            boto3.client("secretsmanager", region_name=sys.argv[2], endpoint_url=sys.argv[1], aws_access_key_id=sys.argv[4],
                         aws_secret_access_key=sys.argv[5]).create_secret(Name=sys.argv[3], SecretString=sys.stdin.read())
            """
        let result = try runProcess("/usr/bin/env", ["python3", "-c", script, url, region, name,
                                                     identity?.accessKeyID ?? "AKIDMOTO", identity?.secretAccessKey ?? "moto"],
                                    input: Data(value.utf8))
        guard result.status == 0 else { throw MissingServer(description: "moto refused the secret \(name): \(result.stderr)") }
    }

    deinit { reapInBackground(process) }
}
