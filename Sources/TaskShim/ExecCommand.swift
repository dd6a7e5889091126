import ArgumentParser
import FoundationEssentials
#if canImport(Glibc)
import Glibc
#endif
import Logging

struct ExecCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "exec",
        abstract: "Run a handler once and exit with its status.",
        discussion: """
            TARGET is a registered handler name (see `runtime list`) or a file such as report.sql, which \
            runs the telemetry SQL handler. Logs go to stdout as JSON lines (text on a terminal); with \
            --dry-run they go to stderr so that stdout holds only the records.

            Exit status (sysexits): 0 ok; 75 temporary failure, retry later (database or endpoint down, \
            timeout); 64 usage; 65 bad data (invalid event, SQL error); 66 missing input file; 67 unknown \
            handler; 69 dependency refused the request; 70 internal error; 77 credentials rejected; \
            78 configuration error.
            """
    )

    @Argument(help: "A handler name or a file (handler.sql).")
    var target: String

    @Option(name: .long, help: ArgumentHelp("The event: inline JSON, @file, or - for stdin.", valueName: "json|@file|-"))
    var event: String?

    @Option(name: .long, help: ArgumentHelp("Start of the data window (RFC 3339). Needs --end.", valueName: "time"))
    var start: String?

    @Option(name: .long, help: ArgumentHelp("End of the data window, exclusive (RFC 3339). Needs --start.", valueName: "time"))
    var end: String?

    @Option(name: .customLong("logical-time"), help: ArgumentHelp("The time the run is for (RFC 3339); default now.", valueName: "time"))
    var logicalTime: String?

    @Option(name: .customLong("stream-name"), help: "Telemetry stream name (SQL handler); default STREAM_NAME or the file's name.")
    var streamName: String?

    @Flag(name: .customLong("dry-run"), help: "Compute and print the results as JSON lines; send nothing.")
    var dryRun = false

    @Flag(name: .customLong("test-connection"), help: "Check that the handler's database and endpoint answer, then exit.")
    var testConnection = false

    @Option(name: .customLong("log-level"), help: ArgumentHelp("trace, debug, info, notice, warning, error or critical; default LOG_LEVEL, else AWS_LAMBDA_LOG_LEVEL, else info.", valueName: "level"))
    var logLevel: String?

    @Option(name: .long, help: ArgumentHelp("Cancel the handler after this many seconds and exit 75.", valueName: "seconds"))
    var timeout: Double?

    @Option(name: .long, help: ArgumentHelp("Attempt number (default: CLOUD_RUN_TASK_ATTEMPT + 1, else 1).", valueName: "n"))
    var attempt: Int?

    @Option(name: .long, help: ArgumentHelp("Write the handler's response to this file (- for stdout).", valueName: "path"))
    var output: String?

    func validate() throws {
        if let timeout, !(timeout > 0 && timeout <= 86_400 * 7) {
            throw ValidationError("--timeout must be a number of seconds greater than 0.")
        }
        if let attempt, attempt < 1 { throw ValidationError("--attempt must be 1 or more.") }
        if start != nil && end == nil || start == nil && end != nil {
            throw ValidationError("--start and --end go together: give both, or neither for the default window.")
        }
    }

    func run() async throws {
        guard let (runtime, io) = Runtime.current else { return }
        try await io.reportingErrors { redactor throws(TaskShimError) in
            try await execute(runtime: runtime, io: io, redactor: redactor)
        }
    }

    private func execute(runtime: Runtime, io: Runtime.IO, redactor: Redactor) async throws(TaskShimError) {
        // With --dry-run stdout carries the records, so the logs go to stderr (and its terminal-ness
        // picks the format).
        let logWriter = dryRun ? io.standardError : io.standardOutput
        var setup = try LogSetup.resolve(environment: io.environment, writer: logWriter,
                                         isTerminal: dryRun ? io.standardErrorIsTerminal : io.isTerminal)
        if let logLevel {
            do { setup.level = try Logger.Level(parsing: logLevel) } catch {
                throw .usage("--log-level \(logLevel) is not a log level.", hint: error.hint)
            }
        }
        setup.redactor = redactor
        let logger = setup.makeLogger(label: "taskshim.exec")
        // A one-shot run starts with every call: the platform line is for debugging only here.
        if logger.logLevel <= .debug {
            await Platform.detect(io.environment).addingECSTaskMetadata(io.environment).log(to: logger, level: .debug)
        }

        let handler = try runtime.registry.resolve(target)
        let payload = try readEvent(io: io)
        var prepared = Invocation(
            payload: payload,
            trigger: .command,
            logicalTime: try parseLogicalTime(),
            dataInterval: try interval(),
            attempt: attempt ?? Self.platformAttempt(io.environment),
            deadline: timeout.map { Date().addingTimeInterval($0) },
            dryRun: dryRun)
        Self.addCloudRunTask(io.environment, to: &prepared)
        let invocation = prepared
        let secrets = try io.secrets(redactor: redactor)
        let dependencies = try Dependencies(environment: io.environment, logger: logger)
        if testConnection {
            let runner = Runner(logger: logger, environment: io.environment, secrets: secrets, output: io.standardOutput, dependencies: dependencies)
            let context = HandlerContext(logger: runner.invocationLogger(handler, invocation), environment: io.environment,
                                         secrets: secrets, output: io.standardOutput, dependencies: dependencies)
            let checks: [ConnectionCheck]
            do { checks = try await handler.testConnections(context: context) } catch { throw .wrapping(error) }
            for check in checks {
                io.standardOutput.write(line: redactor.redact("\(check.ok ? "ok  " : "FAIL") \(check.dependency): \(check.detail)"))
            }
            if checks.isEmpty { io.standardOutput.write(line: "ok   \(handler.name) has no dependencies to check") }
            if let failed = checks.first(where: { !$0.ok }), let status = failed.failure {
                throw TaskShimError(status, "The \(failed.dependency) check failed.", hint: "See the FAIL lines above.")
            }
            return
        }

        let audit = try AuditLog.start(AuditConfiguration(environment: io.environment), standardOutput: io.standardOutput,
                                       dependencies: dependencies, redactor: redactor, logger: logger)
        let runner = Runner(logger: logger, environment: io.environment, secrets: secrets, output: io.standardOutput,
                            dependencies: dependencies, audit: audit ?? NoAudit())
        let (outcome, signal) = await SignalWatcher.cancelling { await runner.run(handler, invocation) }
        await audit?.close()
        if let number = signal {
            throw TaskShimError.temporary("Stopped by \(SignalWatcher.name(number)) before the run finished.",
                                          hint: "The run can be retried; a retry of the same window sends the same Idempotency-Key values.")
        }
        if let error = outcome.error { throw error }
        if let output {
            if output == "-" {
                io.standardOutput.write(line: String(decoding: outcome.output, as: UTF8.self))
            } else if !FileManager.default.createFile(atPath: output, contents: outcome.output) {
                throw TaskShimError(.ioError, "Cannot write the response to \(output).", hint: "Check that the folder exists and is writable.")
            }
        }
    }

    /// On a Cloud Run job: the task's place in the execution in `attributes` (`cloud_run_job`,
    /// `cloud_run_execution`, `cloud_run_task_index`, `cloud_run_task_count`, for handlers that shard
    /// their work), and an idempotency key that every attempt of the task shares
    /// (`{execution}/{task index}`), while the request id names the attempt.
    static func addCloudRunTask(_ environment: Environment, to invocation: inout Invocation) {
        guard let job = environment["CLOUD_RUN_JOB"], let execution = environment["CLOUD_RUN_EXECUTION"] else { return }
        let index = environment["CLOUD_RUN_TASK_INDEX"].flatMap(Int.init) ?? 0
        invocation.attributes["cloud_run_job"] = job
        invocation.attributes["cloud_run_execution"] = execution
        invocation.attributes["cloud_run_task_index"] = String(index)
        invocation.attributes["cloud_run_task_count"] = String(environment["CLOUD_RUN_TASK_COUNT"].flatMap(Int.init) ?? 1)
        invocation.idempotencyKey = "\(execution)/\(index)"
        invocation.platformRetries = true  // the job's task retries
        invocation.requestID = "\(execution)/\(index)/\(invocation.attempt)"
    }

    /// Cloud Run jobs count attempts from 0 in `CLOUD_RUN_TASK_ATTEMPT`.
    static func platformAttempt(_ environment: Environment) -> Int {
        guard let raw = environment["CLOUD_RUN_TASK_ATTEMPT"], let value = Int(raw), value >= 0 else { return 1 }
        return value + 1
    }

    private func parseLogicalTime() throws(TaskShimError) -> Date {
        guard let logicalTime else { return Date() }
        guard let date = Timestamp.parse(logicalTime) else {
            throw .usage("--logical-time '\(logicalTime)' is not a date-time.", hint: "Use RFC 3339, for example 2026-11-22T09:00:00Z.")
        }
        return date
    }

    private func interval() throws(TaskShimError) -> DateInterval? {
        try DateInterval.parsing(start: start, end: end)
    }

    /// The event bytes, with `--stream-name` merged into a JSON object event.
    private func readEvent(io: Runtime.IO) throws(TaskShimError) -> Data {
        var data: Data
        switch event {
        case nil:
            data = Data()
        case "-"?:
            data = io.standardInput()
        case let value? where value.hasPrefix("@"):
            let path = String(value.dropFirst())
            guard let contents = FileManager.default.contents(atPath: path) else {
                throw TaskShimError(.noInput, "The event file \(path) does not exist or cannot be read.")
            }
            data = contents
        case let value?:
            data = Data(value.utf8)
        }
        guard let streamName else { return data }
        var object = try Invocation(payload: data, trigger: .command).jsonObject()
        object["stream_name"] = .string(streamName)
        return Data(JSONValue.object(object).encoded.utf8)
    }
}
