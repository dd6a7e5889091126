import ArgumentParser
import FoundationEssentials
#if canImport(Glibc)
import Glibc
#endif
import Logging

/// The entry point for the `runtime` binary and for embedders: register handlers, call ``main()``,
/// and get every mode and the CLI.
///
/// ```swift
/// var registry = HandlerRegistry.builtIn
/// registry.register(MyHandler())
/// await Runtime(registry: registry).main()
/// ```
public struct Runtime: Sendable {
    public static let version = "0.1.0"

    public var registry: HandlerRegistry

    public init(registry: HandlerRegistry = .builtIn) {
        self.registry = registry
    }

    /// Where a run reads its configuration and writes its output; tests and embedders substitute their own.
    public struct IO: Sendable {
        public var environment: Environment
        public var standardOutput: any LineWriter
        public var standardError: any LineWriter
        /// Whether stdout is a terminal (selects the text log format).
        public var isTerminal: Bool
        /// Whether stderr is a terminal (for logs sent there, as with `--dry-run`).
        public var standardErrorIsTerminal: Bool
        public var standardInput: @Sendable () -> Data
        /// The secrets resolved from references at start-up (nil when there were none).
        public var secretStore: SecretStore?

        public init(environment: Environment = Environment(),
                    standardOutput: any LineWriter = FileDescriptorWriter.standardOutput,
                    standardError: any LineWriter = FileDescriptorWriter.standardError,
                    isTerminal: Bool = FileDescriptorWriter.standardOutput.isTerminal,
                    standardErrorIsTerminal: Bool = FileDescriptorWriter.standardError.isTerminal,
                    standardInput: @escaping @Sendable () -> Data = Runtime.IO.readStandardInput) {
            self.environment = environment
            self.standardOutput = standardOutput
            self.standardError = standardError
            self.isTerminal = isTerminal
            self.standardErrorIsTerminal = standardErrorIsTerminal
            self.standardInput = standardInput
        }
    }

    @TaskLocal static var current: (runtime: Runtime, io: IO)?

    /// Parses the process's arguments, runs the command and exits with its status.
    public func main() async -> Never {
        ChildReaper.startIfInit()
        let status = await run(arguments: Array(CommandLine.arguments.dropFirst()))
        exit(status)
    }

    /// Parses `arguments`, runs the command and returns the exit status.
    public func run(arguments: [String], io: IO = IO()) async -> Int32 {
        // Inside Lambda, `bootstrap` may start the binary with no arguments.
        let arguments = arguments.isEmpty && io.environment["AWS_LAMBDA_RUNTIME_API"] != nil ? ["lambda"] : arguments
        return await Runtime.$current.withValue((self, io)) {
            do {
                if arguments == ["lambda"] {
                    // The cold start path: argument parsing instantiates type metadata by reflection,
                    // milliseconds Lambda bills as init time.
                    let resolution = await resolvingSecrets(io)
                    guard let io = resolution.io else { return resolution.status }
                    try await LambdaCommand.serve(handler: nil, maxInvocations: nil, runtime: self, io: io)
                    return 0
                }
                var command = try RootCommand.parseAsRoot(arguments)
                if var asyncCommand = command as? AsyncParsableCommand {
                    // Secret references in the environment are resolved once the command is known
                    // (`--help` reads none) and before it reads its configuration.
                    let resolution = await resolvingSecrets(io)
                    guard let resolved = resolution.io else { return resolution.status }
                    try await Runtime.$current.withValue((self, resolved)) { try await asyncCommand.run() }
                } else {
                    try command.run()
                }
                return 0
            } catch {
                let code = RootCommand.exitCode(for: error).rawValue
                let message = RootCommand.fullMessage(for: error)
                if !message.isEmpty {
                    (code == 0 ? io.standardOutput : io.standardError).write(line: message)
                }
                return code
            }
        }
    }
}

extension Runtime.IO {
    /// The handlers' secrets: `SECRETS_PROVIDER` checked, the resolved references from ``secretStore``
    /// (read again past their TTL or when refused), the rest from `environment` (default: this IO's).
    func secrets(environment: Environment? = nil, redactor: Redactor) throws(TaskShimError) -> any SecretsProvider {
        let environment = environment ?? self.environment
        _ = try SecretsProviders.make(environment: environment, redactor: redactor)
        return StoredSecrets(store: secretStore, environment: environment, redactor: redactor)
    }
}

extension Runtime {
    /// `io` with the environment's secret references resolved (``SecretResolver``); when they cannot
    /// be, nil and the exit status, after writing why (78, or 75 for a timeout).
    func resolvingSecrets(_ io: IO) async -> (io: IO?, status: Int32) {
        var resolved = io
        do throws(TaskShimError) {
            let timeout = try io.environment.double("TASKSHIM_SECRETS_TIMEOUT", default: 5, in: 0.1...300)
            let concurrency = try io.environment.int("TASKSHIM_SECRETS_CONCURRENCY", default: 16, in: 1...64)
            let ttl = try io.environment.double("TASKSHIM_SECRETS_TTL", default: 3600, in: 0...604_800)
            (resolved.environment, resolved.secretStore) = try await SecretResolver(timeout: .milliseconds(Int64(timeout * 1000)),
                                                                                   concurrency: concurrency)
                .resolved(io.environment, ttl: ttl == 0 ? nil : .milliseconds(Int64(ttl * 1000)))
            return (resolved, 0)
        } catch {
            let redactor = Redactor()
            redactor.addSecrets(from: io.environment)
            io.standardError.write(line: "runtime: " + redactor.redact(error.description))
            return (nil, error.status.rawValue)
        }
    }
}

extension HandlerRegistry {
    /// The handlers every `runtime` binary has: `*.sql` files (the telemetry SQL handler) and `echo`.
    public static var builtIn: HandlerRegistry {
        var registry = HandlerRegistry()
        registry.register(fileExtension: "sql") { SQLTelemetryHandler(file: $0) }
        registry.register(EchoHandler())
        return registry
    }
}

extension Runtime.IO {
    /// All of stdin, read with read(2).
    @Sendable public static func readStandardInput() -> Data {
        var data = Data()
        var buffer = [UInt8](repeating: 0, count: 65_536)
        while true {
            let count = buffer.withUnsafeMutableBytes { read(0, $0.baseAddress, $0.count) }
            if count < 0 && errno == EINTR { continue }
            if count <= 0 { return data }
            data.append(contentsOf: buffer[0..<count])
        }
    }

    /// Runs a command's body with a redactor seeded from the environment. A `TaskShimError` becomes one
    /// redacted line on stderr, `runtime: <message> <hint>`, and the process exits with its status.
    func reportingErrors(_ body: (Redactor) async throws(TaskShimError) -> Void) async throws {
        let redactor = Redactor()
        redactor.addSecrets(from: environment)
        do {
            try await body(redactor)
        } catch {
            standardError.write(line: "runtime: " + redactor.redact(error.description))
            throw ExitCode(error.status.rawValue)
        }
    }
}
