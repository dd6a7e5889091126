import ArgumentParser
import FoundationEssentials
#if canImport(Glibc)
import Glibc
#endif
import Logging
import TaskShimLambda

struct LambdaCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "lambda",
        abstract: "Serve AWS Lambda invocations through the Runtime API (what the bundle's bootstrap runs).",
        discussion: """
            Reads AWS_LAMBDA_RUNTIME_API and runs the handler named by _HANDLER (a registered name, or a \
            .sql file relative to LAMBDA_TASK_ROOT) for every event. `runtime` with no arguments does the \
            same when AWS_LAMBDA_RUNTIME_API is set. EventBridge scheduled events set the logical time; \
            SQS batches are run message by message and answer with batchItemFailures.
            """
    )

    @Option(name: .long, help: ArgumentHelp("The handler to run (default: _HANDLER).", valueName: "name|file.sql"))
    var handler: String?

    @Option(name: .customLong("max-invocations"), help: ArgumentHelp("Exit 0 after this many events (for tests and benchmarks).", visibility: .hidden))
    var maxInvocations: Int?

    func run() async throws {
        guard let (runtime, io) = Runtime.current else { return }
        try await Self.serve(handler: handler, maxInvocations: maxInvocations, runtime: runtime, io: io)
    }

    /// What `runtime lambda` does; ``Runtime/run(arguments:io:)`` calls it without parsing arguments on a
    /// cold start, where every millisecond counts.
    static func serve(handler: String?, maxInvocations: Int?, runtime: Runtime, io: Runtime.IO) async throws {
        try await io.reportingErrors { redactor throws(TaskShimError) in
            try await serve(handler: handler, maxInvocations: maxInvocations, runtime: runtime, io: io, redactor: redactor)
        }
    }

    private static func serve(handler: String?, maxInvocations: Int?, runtime: Runtime, io: Runtime.IO,
                              redactor: Redactor) async throws(TaskShimError) {
        guard let address = io.environment["AWS_LAMBDA_RUNTIME_API"] else {
            throw .configuration("AWS_LAMBDA_RUNTIME_API is not set, so there is no Lambda Runtime API to serve.",
                                 hint: "Lambda sets it; to run a handler once outside Lambda use `runtime exec NAME`.")
        }
        var setup = try LogSetup.resolve(environment: io.environment, writer: io.standardOutput, isTerminal: false)
        setup.redactor = redactor
        var logger = setup.makeLogger(label: "taskshim.lambda")
        if let name = io.environment["AWS_LAMBDA_FUNCTION_NAME"] { logger[metadataKey: "function"] = .string(name) }
        Platform.detect(io.environment).log(to: logger, level: .info)
        let api = try RuntimeAPIClient(api: address)

        let resolved: any Handler
        let secrets: any SecretsProvider
        let streaming: Bool
        do {
            resolved = try runtime.registry.resolve(try target(handler, environment: io.environment))
            secrets = try io.secrets(redactor: redactor)
            streaming = try io.environment.bool("TASKSHIM_LAMBDA_STREAMING", default: false)
        } catch {
            // Lambda shows this as the init error of the function; the process then exits.
            try? await api.initializationFailed(LambdaErrorBody(error))
            throw error
        }
        let dependencies = try Dependencies(environment: io.environment, logger: logger)
        let audit: AuditLog?
        do {
            audit = try AuditLog.start(AuditConfiguration(environment: io.environment), standardOutput: io.standardOutput,
                                       dependencies: dependencies, redactor: redactor, logger: logger)
        } catch {
            try? await api.initializationFailed(LambdaErrorBody(error))
            throw error
        }
        let runner = Runner(logger: logger, environment: io.environment, secrets: secrets, output: io.standardOutput,
                            dependencies: dependencies, audit: audit ?? NoAudit())
        var loop = LambdaLoop(api: api, runner: runner, logger: logger, streaming: streaming)
        loop.registry = runtime.registry
        // Lambda may freeze the process once it asks for the next event: the audit trail is delivered or
        // on disk before that.
        if let audit { loop.beforeNext = { await audit.flush() } }
        let configured = loop
        let limit = maxInvocations

        // Lambda sends SIGTERM when it shuts the environment down: stop between events, exit 0.
        let (result, signal) = await SignalWatcher.cancelling { () -> Result<Void, TaskShimError> in
            do { return .success(try await configured.run(resolved, limit: limit)) } catch { return .failure(.wrapping(error)) }
        }
        await audit?.close()
        if let number = signal {
            logger.info("stopping on \(SignalWatcher.name(number))")
            return
        }
        try result.get()
    }

    /// The handler target: the flag, else `_HANDLER`; a relative `.sql` path is under `LAMBDA_TASK_ROOT`.
    static func target(_ flag: String?, environment: Environment) throws(TaskShimError) -> String {
        guard let name = flag ?? environment["_HANDLER"] else {
            throw .configuration("_HANDLER is not set, so there is no handler to run.",
                                 hint: "Set the function's handler to a registered name (runtime list) or a .sql file in the bundle.")
        }
        if name.lowercased().hasSuffix(".sql"), !name.hasPrefix("/"), let root = environment["LAMBDA_TASK_ROOT"] {
            return FilePath.join(root, name)
        }
        return name
    }
}
