import ArgumentParser
import FoundationEssentials
#if canImport(Glibc)
import Glibc
#endif
import Logging
import TaskShimAudit
import TaskShimQueue

struct WorkerCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "worker",
        abstract: "Run jobs from a queue: each job's type names the handler, its payload is the event.",
        discussion: """
            Jobs are claimed with a lease that the worker renews while they run; a killed worker's jobs \
            return to the queue once their lease runs out and run again with their attempt counted. A job \
            whose handler fails with a temporary error (exit 75) is retried after retry_delay_seconds × \
            attempt until max_attempts; other failures, and unknown job types, fail it for good with the \
            error kept. SIGTERM stops claiming; running handlers are cancelled and their jobs go back.

            Examples:
              runtime worker --queue postgres://app@db/app --queues default,reports --concurrency 4
              runtime worker --queue $DATABASE_URL --burst          # until the queue is empty
            """
    )

    @Option(name: .long, help: ArgumentHelp("The queue: a postgres://, redis:// or sqlite: URL (default: TASKSHIM_QUEUE_URL, DATABASE_URL, REDIS_URL, else the file .taskshim/queue.db).", valueName: "url"))
    var queue: String?

    @Option(name: .long, help: ArgumentHelp("Queue names to take jobs from, comma-separated.", valueName: "a,b"))
    var queues: String = "default"

    @Option(name: .long, help: "Jobs run at once.")
    var concurrency: Int = 1

    @Option(name: .long, help: ArgumentHelp("Jobs claimed ahead of free slots, so short jobs do not wait for a claim each (default: sized to the jobs' pace, from the concurrency up to 1000; 0 to claim only for free slots).", valueName: "n"))
    var prefetch: Int?

    @Option(name: .long, help: ArgumentHelp("This worker's id in the job table (default: host name and process id).", valueName: "id"))
    var workerID: String?

    @Option(name: .long, help: ArgumentHelp("Stop after this many jobs.", valueName: "n"))
    var maxJobs: Int?

    @Option(name: .long, help: ArgumentHelp("Seconds a claimed job stays ours without a renewal (renewed every third).", valueName: "seconds"))
    var lease: Int = 30

    @Option(name: .long, help: ArgumentHelp("Seconds between polls of an empty queue.", valueName: "seconds"))
    var pollSeconds: Double = 1

    @Flag(name: .long, help: "Stop once no job is available.")
    var burst = false

    @Flag(name: .long, help: "Claim once, run what was claimed, stop.")
    var once = false

    func validate() throws {
        guard (1...1000).contains(concurrency) else { throw ValidationError("--concurrency must be from 1 to 1000.") }
        if let prefetch, !(0...10_000).contains(prefetch) { throw ValidationError("--prefetch must be from 0 to 10000.") }
        guard (2...86_400).contains(lease) else { throw ValidationError("--lease must be from 2 to 86400 seconds.") }
        if let maxJobs, maxJobs < 1 { throw ValidationError("--max-jobs must be 1 or more.") }
        guard pollSeconds > 0, pollSeconds <= 3600 else { throw ValidationError("--poll-seconds must be more than 0 and at most 3600.") }
    }

    func run() async throws {
        guard let (runtime, io) = Runtime.current else { return }
        try await io.reportingErrors { redactor throws(TaskShimError) in
            try await work(runtime: runtime, io: io, redactor: redactor)
        }
    }

    private func work(runtime: Runtime, io: Runtime.IO, redactor: Redactor) async throws(TaskShimError) {
        var setup = try LogSetup.resolve(environment: io.environment, writer: io.standardOutput, isTerminal: io.isTerminal)
        setup.redactor = redactor
        let logger = setup.makeLogger(label: "taskshim.worker")
        let jobQueue = try QueueURL.open(queue, environment: io.environment)
        var configuration = Worker.Configuration(workerID: workerID ?? Self.defaultWorkerID())
        configuration.queues = queues.split(separator: ",").map { String($0).trimmed }.filter { !$0.isEmpty }
        configuration.concurrency = concurrency
        configuration.prefetch = prefetch
        configuration.maxJobs = maxJobs
        configuration.lease = .seconds(lease)
        configuration.pollInterval = .milliseconds(Int64(pollSeconds * 1000))
        configuration.burst = burst
        configuration.once = once
        configuration.jobTimeout = .seconds(try io.environment.int("TASKSHIM_JOB_TIMEOUT", default: 900, in: 1...86_400))
        configuration.keepCompleted = try Self.retention(io.environment, "TASKSHIM_QUEUE_KEEP_COMPLETED", default: configuration.keepCompleted)
        configuration.keepFailed = try Self.retention(io.environment, "TASKSHIM_QUEUE_KEEP_FAILED", default: configuration.keepFailed)

        let secrets = try io.secrets(redactor: redactor)
        let dependencies = try Dependencies(environment: io.environment, logger: logger)
        let audit = try AuditLog.start(AuditConfiguration(environment: io.environment), standardOutput: io.standardOutput,
                                       dependencies: dependencies, redactor: redactor, logger: logger)
        let runner = Runner(logger: logger, environment: io.environment, secrets: secrets, output: io.standardOutput,
                            dependencies: dependencies, audit: audit ?? NoAudit())
        let worker = Worker(queue: jobQueue, registry: runtime.registry, runner: runner, configuration: configuration, logger: logger)
        logger.info("worker started", metadata: ["queue": .string(jobQueue.displayName), "queues": .string(configuration.queues.joined(separator: ",")),
                                                 "worker_id": .string(configuration.workerID), "concurrency": .stringConvertible(concurrency)])
        let (result, signal) = await SignalWatcher.cancelling { () -> Result<Int, TaskShimError> in
            do { return .success(try await worker.run()) } catch { return .failure(.wrapping(error)) }
        }
        await audit?.close()
        if let number = signal { logger.info("worker stopped on \(SignalWatcher.name(number))") }
        let processed = try result.get()
        logger.info("worker finished", metadata: ["jobs": .stringConvertible(processed)])
    }

    /// A retention period from the environment: an age (`7d`, `12h`), or `forever`.
    static func retention(_ environment: Environment, _ name: String, default value: Duration?) throws(TaskShimError) -> Duration? {
        guard let text = environment[name] else { return value }
        if text.lowercased() == "forever" { return nil }
        guard let age = Duration(parsing: text), age > .zero else {
            throw .configuration("\(name) is '\(text)', not an age.", hint: "Use an age such as 12h, 7d or 30d, or forever.")
        }
        return age
    }

    static func defaultWorkerID() -> String {
        let host = Platform.hostname ?? "host"
        return "\(host):\(getpid())"
    }
}

struct EnqueueCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "enqueue",
        abstract: "Add a job to a queue; prints its id.",
        discussion: """
            Examples:
              runtime enqueue --queue $DATABASE_URL report.sql --payload '{"day":"2026-12-01"}'
              runtime enqueue --queue $DATABASE_URL echo --unique-key nightly-2026-12-01 --delay 60
            """
    )

    @Argument(help: ArgumentHelp("The job type: the handler that will run it (runtime list).", valueName: "type"))
    var type: String

    @Option(name: .long, help: ArgumentHelp("The queue: a postgres://, redis:// or sqlite: URL (default: TASKSHIM_QUEUE_URL, DATABASE_URL, REDIS_URL, else the file .taskshim/queue.db).", valueName: "url"))
    var queue: String?

    @Option(name: .long, help: ArgumentHelp("The queue name.", valueName: "name"))
    var queueName: String = "default"

    @Option(name: .long, help: ArgumentHelp("The job's payload, a JSON object.", valueName: "json"))
    var payload: String = "{}"

    @Option(name: .long, help: ArgumentHelp("Many jobs: a file (or - for stdin) with one JSON object per line, each the payload of a job; ids printed one per line.", valueName: "file|-"))
    var payloadLines: String?

    @Option(name: .long, help: ArgumentHelp("Seconds before the job becomes available.", valueName: "seconds"))
    var delay: Int = 0

    @Option(name: .long, help: ArgumentHelp("While a job with this key waits or runs in the queue, do not add another.", valueName: "key"))
    var uniqueKey: String?

    @Option(name: .long, help: "Tries before the job fails for good.")
    var maxAttempts: Int = 5

    @Option(name: .long, help: ArgumentHelp("Seconds before a retry: times the attempt (linear), or doubled each attempt with jitter (exponential).", valueName: "seconds"))
    var retryDelay: Int = 30

    @Option(name: .long, help: ArgumentHelp("How the retry delay grows: linear or exponential.", valueName: "kind"))
    var backoff = Choice(JobBackoff.linear)

    @Option(name: .long, help: "Higher runs first.")
    var priority: Int = 0

    func validate() throws {
        guard (1...1000).contains(maxAttempts) else { throw ValidationError("--max-attempts must be from 1 to 1000.") }
        guard (0...31_536_000).contains(delay), (0...86_400).contains(retryDelay) else {
            throw ValidationError("--delay must be from 0 to 31536000 seconds and --retry-delay from 0 to 86400.")
        }
        if payloadLines != nil, payload != "{}" { throw ValidationError("Give --payload or --payload-lines, not both.") }
        guard JSONValue.parse(Data(payload.utf8))?.object != nil else {
            throw ValidationError("--payload must be a JSON object, for example '{\"day\":\"2026-12-01\"}'.")
        }
    }

    func run() async throws {
        guard let (_, io) = Runtime.current else { return }
        try await io.reportingErrors { _ throws(TaskShimError) in
            let jobQueue = try QueueURL.open(queue, environment: io.environment)
            let payloads = try payloadLines.map { path throws(TaskShimError) in try Self.payloads(path, io: io) }
            do {
                try await jobQueue.migrate()
                let job = NewJob(queue: queueName, type: type, payload: Data(payload.utf8), delaySeconds: delay, maxAttempts: maxAttempts,
                                 retryDelaySeconds: retryDelay, backoff: backoff.value, priority: priority, uniqueKey: uniqueKey)
                if let payloads {
                    var added = 0
                    var start = 0
                    while start < payloads.count {
                        let end = min(start + 1000, payloads.count)
                        let ids = try await jobQueue.enqueue(payloads[start..<end].map { var one = job; one.payload = $0; return one })
                        for id in ids { io.standardOutput.write(line: String(id)) }
                        added += ids.count
                        start = end
                    }
                    if added < payloads.count {
                        io.standardError.write(line: "runtime: \(payloads.count - added) of \(payloads.count) jobs not added: the unique key \(uniqueKey ?? "") is held")
                    }
                } else if let id = try await jobQueue.enqueue(job) {
                    io.standardOutput.write(line: String(id))
                } else {
                    io.standardOutput.write(line: "duplicate: a job with unique key \(uniqueKey ?? "") is already waiting or running")
                }
            } catch {
                throw .wrapping(error)
            }
        }
    }
}

extension EnqueueCommand {
    /// The payloads of `--payload-lines`: each non-empty line a JSON object.
    static func payloads(_ path: String, io: Runtime.IO) throws(TaskShimError) -> [Data] {
        let data: Data
        if path == "-" {
            data = io.standardInput()
        } else if let contents = FileManager.default.contents(atPath: path) {
            data = contents
        } else {
            throw TaskShimError(.noInput, "The payload file \(path) does not exist or cannot be read.")
        }
        var payloads: [Data] = []
        for (index, line) in data.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false).enumerated() {
            let bytes = Data(line)
            if bytes.allSatisfy({ $0 == 32 || $0 == 9 || $0 == 13 }) { continue }
            guard JSONValue.parse(bytes)?.object != nil else {
                throw .data("Line \(index + 1) of \(path == "-" ? "stdin" : path) is not a JSON object.", hint: "Each line holds one job's payload, for example {\"day\":\"2026-12-01\"}.")
            }
            payloads.append(bytes)
        }
        return payloads
    }
}

/// The queue a `--queue` URL (or the environment) names.
enum QueueURL {
    /// `--queue`, else `TASKSHIM_QUEUE_URL`, `DATABASE_URL`, `REDIS_URL`; with none of them the
    /// embedded SQLite file `$TASKSHIM_DATA_DIR/queue.db` (`.taskshim/queue.db`).
    static func open(_ flag: String?, environment: Environment) throws(TaskShimError) -> any JobQueue {
        guard let url = flag ?? environment["TASKSHIM_QUEUE_URL"] ?? environment["DATABASE_URL"] ?? environment["REDIS_URL"] else {
            return SQLJobQueue.sqlite(path: (environment["TASKSHIM_DATA_DIR"] ?? ".taskshim") + "/queue.db")
        }
        let scheme = url.split(separator: ":", maxSplits: 1).first.map { $0.lowercased() } ?? ""
        if environment["TASKSHIM_QUEUE_TABLE"] != nil, scheme != "postgres", scheme != "postgresql" {
            throw .configuration("TASKSHIM_QUEUE_TABLE applies to PostgreSQL queues, not \(scheme).", hint: "Unset it, or use a postgres:// queue URL.")
        }
        switch scheme {
        case "postgres", "postgresql":
            return try SQLJobQueue.postgres(url: url, table: environment["TASKSHIM_QUEUE_TABLE"])
        case "redis", "rediss":
            return try RedisJobQueue(url: url, caFile: environment["TASKSHIM_CA_FILE"])
        case "sqlite", "file":
            guard let path = SQLDatabases.sqlitePath(url) else {
                throw .configuration("The queue URL \(url) names no file.", hint: "Use sqlite:/path/to/queue.db.")
            }
            return SQLJobQueue.sqlite(path: path)
        default:
            throw .configuration("The queue URL's scheme \(scheme) is not a queue backend.",
                                 hint: "Use a postgres://, redis:// or sqlite: URL.")
        }
    }
}
