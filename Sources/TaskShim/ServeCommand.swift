import ArgumentParser
import FoundationEssentials
import Logging
import TaskShimHTTP

struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Serve the handler over HTTP on $PORT (Cloud Run services and functions, ECS services).",
        discussion: """
            Every request runs the handler named by FUNCTION_TARGET with the request body as its event, \
            except /robots.txt and /favicon.ico (404). FUNCTION_SIGNATURE_TYPE is http (the default: \
            the body is the event; a Pub/Sub push gets the message data, a Cloud Scheduler call its schedule \
            time as the logical time), cloudevent (binary, structured or batched CloudEvents, or legacy \
            events converted; the handler gets each as JSON) or event (legacy background events as \
            {"data","context"}, CloudEvents converted). SIGTERM stops accepting, lets running requests finish for \
            TASKSHIM_DRAIN_TIMEOUT seconds (default 8, under Cloud Run's 10 s), then exits 0.
            """
    )

    @Option(name: .long, help: ArgumentHelp("The handler to run (default: FUNCTION_TARGET).", valueName: "name|file.sql"))
    var handler: String?

    @Option(name: .long, help: ArgumentHelp("The TCP port (default: PORT, else 8080).", valueName: "port"))
    var port: Int?

    func run() async throws {
        guard let (runtime, io) = Runtime.current else { return }
        try await io.reportingErrors { redactor throws(TaskShimError) in
            try await serve(runtime: runtime, io: io, redactor: redactor)
        }
    }

    private func serve(runtime: Runtime, io: Runtime.IO, redactor: Redactor) async throws(TaskShimError) {
        let environment = io.environment
        var setup = try LogSetup.resolve(environment: environment, writer: io.standardOutput, isTerminal: io.isTerminal)
        setup.redactor = redactor
        let logger = setup.makeLogger(label: "taskshim.serve")

        let name = environment["FUNCTION_SIGNATURE_TYPE"].map { $0.lowercased() } ?? "http"
        guard let signature = FunctionServer.Signature(rawValue: name) else {
            throw .configuration("FUNCTION_SIGNATURE_TYPE=\(name) is not a signature.",
                                 hint: "Set it to http (the default), cloudevent or event.")
        }
        guard let target = handler ?? environment["FUNCTION_TARGET"] else {
            throw .configuration("FUNCTION_TARGET is not set, so there is no handler to serve.",
                                 hint: "Set FUNCTION_TARGET to a registered name (runtime list) or a .sql file, or pass --handler.")
        }
        let resolved = try runtime.registry.resolve(target)
        var configuration = FunctionServer.Configuration()
        configuration.signature = signature
        if let port {
            configuration.port = port
        } else {
            configuration.port = try environment.int("PORT", default: 8080, in: 0...65535)
        }
        configuration.maxConcurrentRequests = try environment.int("TASKSHIM_MAX_CONCURRENCY", default: 80, in: 1...10_000)
        configuration.maxBodyBytes = try environment.int("TASKSHIM_MAX_BODY_BYTES", default: 32 << 20, in: 1...(1 << 30))
        configuration.requestTimeout = .seconds(try environment.int("TASKSHIM_REQUEST_TIMEOUT", default: 300, in: 1...86_400))
        configuration.drainTimeout = .seconds(try environment.int("TASKSHIM_DRAIN_TIMEOUT", default: 8, in: 0...3600))
        configuration.readTimeout = .seconds(try environment.int("TASKSHIM_READ_TIMEOUT", default: 60, in: 1...3600))
        configuration.threads = try environment.int("TASKSHIM_SERVE_THREADS", default: configuration.threads, in: 1...256)
        if let path = environment["TASKSHIM_HEALTH_PATH"], !path.isEmpty {
            guard path.hasPrefix("/") else {
                throw .configuration("TASKSHIM_HEALTH_PATH=\(path) is not a path.", hint: "Start it with a slash, for example /healthz.")
            }
            configuration.healthPath = path
        }

        await Platform.detect(environment).addingECSTaskMetadata(environment).log(to: logger, level: .info)
        let secrets = try io.secrets(environment: environment, redactor: redactor)
        let dependencies = try Dependencies(environment: environment, logger: logger)
        let audit = try AuditLog.start(AuditConfiguration(environment: environment), standardOutput: io.standardOutput,
                                       dependencies: dependencies, redactor: redactor, logger: logger)
        let runner = Runner(logger: logger, environment: environment, secrets: secrets, output: io.standardOutput,
                            dependencies: dependencies, audit: audit ?? NoAudit())
        let server = FunctionServer(handler: resolved, runner: runner, logger: logger, configuration: configuration)
        let (result, signal) = await SignalWatcher.cancelling { () -> Result<Void, TaskShimError> in
            do { return .success(try await server.run()) } catch { return .failure(.wrapping(error)) }
        }
        await audit?.close()
        if let number = signal { logger.info("stopped on \(SignalWatcher.name(number))") }
        try result.get()
    }
}
