import ArgumentParser
import FoundationEssentials
#if canImport(Glibc)
import Glibc
#endif
import Logging

extension ScheduleCommand {
    struct Run: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "run",
            abstract: "Run the manifest's tasks at their times, in this process (the default of `runtime schedule`).",
            discussion: """
                Each run has its scheduled time as its logical time and TASK@TIME as its idempotency key. A task's \
                concurrency policy decides what happens when a run is due while the last one still runs \
                (allow, forbid, replace); a run later than its starting_deadline is skipped and logged.

                With TASKSHIM_SCHEDULE_URL (PostgreSQL, Redis, or a SQLite file for one host), every scheduler of \
                the deployment claims each run in a shared store: replicas never fire the same run twice, a \
                forbid task runs once at a time across all of them (its run holds a lease, renewed while it runs, \
                that lapses TASKSHIM_SCHEDULE_LEASE seconds after a scheduler dies, default 30), and a restarted \
                scheduler catches up the last run it missed within the starting deadline.

                With --enqueue, each run is added to the queue `runtime worker` reads (TASKSHIM_QUEUE_URL, ...) \
                instead: the job carries the run's logical time and idempotency key, which the worker uses.

                SIGTERM or SIGINT stops scheduling and waits TASKSHIM_DRAIN_TIMEOUT seconds (default 8) for \
                running tasks before cancelling them; SIGHUP reads the manifest again.

                Examples:
                  runtime schedule
                  runtime schedule run deploy/taskshim.toml --name replica-2
                """
        )

        @Argument(help: "The manifest.")
        var manifest = "taskshim.toml"

        @Option(help: "This scheduler's name in claims and logs (default: the host name and process id).")
        var name: String?

        @Flag(help: "Add each run to the queue (TASKSHIM_QUEUE_URL, as `runtime worker` reads it) instead of running it here.")
        var enqueue = false

        @Option(name: .customLong("queue-name"), help: ArgumentHelp("With --enqueue, the queue name.", valueName: "name"))
        var queueName = "default"

        func run() async throws {
            guard let (runtime, io) = Runtime.current else { return }
            try await io.reportingErrors { redactor throws(TaskShimError) in
                try await serve(runtime: runtime, io: io, redactor: redactor)
            }
        }

        private func serve(runtime: Runtime, io: Runtime.IO, redactor: Redactor) async throws(TaskShimError) {
            var setup = try LogSetup.resolve(environment: io.environment, writer: io.standardOutput, isTerminal: io.isTerminal)
            setup.redactor = redactor
            let logger = setup.makeLogger(label: "taskshim.schedule")
            let tasks = try Self.load(manifest, registry: runtime.registry).tasks
            let drain = try io.environment.int("TASKSHIM_DRAIN_TIMEOUT", default: 8, in: 0...3600)
            let schedulerName = name ?? "\(Self.hostName())-\(getpid())"
            let lease = try io.environment.int("TASKSHIM_SCHEDULE_LEASE", default: 30, in: 3...86400)
            var claims: any RunClaims = InMemoryRunClaims()
            var claimsName = "this process"
            if let url = io.environment["TASKSHIM_SCHEDULE_URL"] {
                if url.lowercased().hasPrefix("redis://") || url.lowercased().hasPrefix("rediss://") {
                    let shared = try await RedisRunClaims.open(url: url, caFile: io.environment["TASKSHIM_CA_FILE"])
                    (claims, claimsName) = (shared, shared.displayName)
                } else {
                    let shared = try await SQLRunClaims.open(url: url)
                    (claims, claimsName) = (shared, shared.displayName)
                }
            }
            let secrets = try io.secrets(redactor: redactor)
            let dependencies = try Dependencies(environment: io.environment, logger: logger)
            let audit = try AuditLog.start(AuditConfiguration(environment: io.environment), standardOutput: io.standardOutput,
                                           dependencies: dependencies, redactor: redactor, logger: logger)
            let registry = runtime.registry
            let directory = FilePath.directory(of: manifest)
            let environment = io.environment
            let output = io.standardOutput
            let recorder: any AuditRecorder = audit ?? NoAudit()
            let launch: Scheduler.Launch
            if enqueue {
                let queue = try QueueURL.open(nil, environment: io.environment)
                do { try await queue.migrate() } catch { throw .wrapping(error) }
                let queueName = self.queueName
                launch = { task, logicalTime, key in
                    await Self.enqueue(task, logicalTime: logicalTime, key: key, into: queue, name: queueName, directory: directory, logger: logger)
                }
            } else {
                launch = { task, logicalTime, key in
                    await Self.launch(task, logicalTime: logicalTime, key: key, registry: registry, directory: directory, environment: environment,
                                      secrets: secrets, output: output, dependencies: dependencies, audit: recorder, logger: logger)
                }
            }
            let scheduler = Scheduler(tasks: tasks, claims: claims, name: schedulerName, lease: .seconds(lease), launch: launch, report: { event in Self.log(event, logger) })
            logger.info("scheduler started", metadata: ["tasks": .stringConvertible(tasks.count), "manifest": .string(manifest),
                                                        "claims": .string(claimsName), "scheduler": .string(schedulerName)])
            let manifest = self.manifest
            let reload = SignalWatcher(signals: [SIGHUP]) { _ in
                Task {
                    do throws(TaskShimError) {
                        let fresh = try Self.load(manifest, registry: registry).tasks
                        await scheduler.reload(fresh)
                        logger.notice("manifest reloaded", metadata: ["tasks": .stringConvertible(fresh.count)])
                    } catch {
                        logger.error("manifest not reloaded: \(error.message) The tasks before it go on.")
                    }
                }
            }
            let (_, signal) = await SignalWatcher.cancelling { await scheduler.run(drain: .seconds(drain)) }
            reload.cancel()
            await audit?.close()
            logger.info("scheduler stopped", metadata: signal.map { ["signal": .string(SignalWatcher.name($0))] } ?? [:])
        }

        /// The manifest at `manifest`, read and checked against `registry` (66 when it cannot be read).
        static func read(_ manifest: String, registry: HandlerRegistry) throws(TaskShimError) -> (manifest: TaskManifest?, problems: [TaskManifest.Problem]) {
            guard let data = FileManager.default.contents(atPath: manifest) else {
                throw TaskShimError(.noInput, "\(manifest) cannot be read.", hint: "Give the manifest's path, or run where taskshim.toml is.")
            }
            return TaskManifest.read(String(decoding: data, as: UTF8.self), handlerExists: handlerExists(registry, FilePath.directory(of: manifest)))
        }

        /// The manifest at `manifest`, valid, or an error listing its problems (65).
        static func load(_ manifest: String, registry: HandlerRegistry) throws(TaskShimError) -> TaskManifest {
            let (parsed, problems) = try read(manifest, registry: registry)
            guard let parsed else {
                throw .data("\(manifest) is not valid: " + problems.map(\.description).joined(separator: "; "), hint: "runtime validate \(manifest) lists every problem.")
            }
            return parsed
        }

        /// Whether a manifest's handler resolves: a registered name, or a file next to the manifest.
        static func handlerExists(_ registry: HandlerRegistry, _ directory: String) -> (String) -> Bool {
            { handler in
                guard (try? registry.resolve(path(handler, in: directory))) != nil else { return false }
                return !handler.contains(".") || FileManager.default.fileExists(atPath: path(handler, in: directory))
            }
        }

        /// A handler file is relative to the manifest; a name is a name.
        static func path(_ handler: String, in directory: String) -> String {
            handler.contains(".") && !handler.hasPrefix("/") ? directory + "/" + handler : handler
        }

        static func launch(_ task: TaskManifest.Task, logicalTime: Date, key: String, registry: HandlerRegistry, directory: String,
                           environment: Environment, secrets: any SecretsProvider, output: any LineWriter, dependencies: Dependencies,
                           audit: any AuditRecorder, logger: Logger) async {
            var taskLogger = logger
            taskLogger[metadataKey: "task"] = .string(task.name)
            let handler: any Handler
            do {
                handler = try registry.resolve(path(task.handler, in: directory))
            } catch {
                taskLogger.error("task not run: \(error)")
                return
            }
            var taskEnvironment = environment
            for (name, value) in task.environment { taskEnvironment.values[name] = value }
            let runner = Runner(logger: taskLogger, environment: taskEnvironment, secrets: secrets, output: output, dependencies: dependencies, audit: audit)
            for attempt in 1...(task.retries + 1) {
                let invocation = Invocation(trigger: .schedule, logicalTime: logicalTime, attempt: attempt,
                                            deadline: task.timeout.map { Date().addingTimeInterval($0.seconds) }, idempotencyKey: key)
                let outcome = await runner.run(handler, invocation)
                guard let error = outcome.error, error.isRetryable, attempt <= task.retries, !Task.isCancelled else { return }
                do {
                    try await Task.sleep(for: .seconds(1 << min(attempt - 1, 6)))  // 1, 2, 4 ... 64 s
                } catch {
                    return  // replaced or stopping: no further attempt
                }
            }
        }

        /// The run as a job: the handler is its type, the payload its task, logical time and idempotency
        /// key (the worker runs it for that time), the key also its unique key so it is queued once.
        static func enqueue(_ task: TaskManifest.Task, logicalTime: Date, key: String, into queue: any JobQueue, name: String,
                            directory: String, logger: Logger) async {
            var payload = JSONLine()
            payload.add("task", task.name)
            payload.add("logical_time", Timestamp.format(logicalTime, fractional: false))
            payload.add("idempotency_key", key)
            let job = NewJob(queue: name, type: path(task.handler, in: directory), payload: Data(payload.string.utf8), maxAttempts: task.retries + 1,
                             uniqueKey: key)
            do {
                let id = try await queue.enqueue(job)
                logger.info("run enqueued", metadata: ["task": .string(task.name), "logical_time": .string(Timestamp.format(logicalTime, fractional: false)),
                                                       "job_id": .string(id.map(String.init) ?? "already queued")])
            } catch {
                logger.error("run not enqueued: \(error)", metadata: ["task": .string(task.name)])
            }
        }

        static func log(_ event: Scheduler.Event, _ logger: Logger) {
            func time(_ date: Date) -> Logger.MetadataValue { .string(Timestamp.format(date, fractional: false)) }
            switch event {
            case .fired(let task, let logicalTime):
                logger.debug("run started", metadata: ["task": .string(task), "logical_time": time(logicalTime)])
            case .skippedRunning(let task, let logicalTime):
                logger.warning("run skipped: the last one still runs (concurrency = forbid)", metadata: ["task": .string(task), "logical_time": time(logicalTime)])
            case .replaced(let task, let logicalTime):
                logger.warning("the running run was cancelled for a new one (concurrency = replace)", metadata: ["task": .string(task), "logical_time": time(logicalTime)])
            case .claimedElsewhere(let task, let logicalTime):
                logger.debug("run claimed by another scheduler", metadata: ["task": .string(task), "logical_time": time(logicalTime)])
            case .missed(let task, let logicalTime, let count):
                logger.warning("\(count) run(s) missed (the scheduler was not running, or late past the starting deadline)",
                               metadata: ["task": .string(task), "logical_time": time(logicalTime), "missed": .stringConvertible(count)])
            case .runningElsewhere(let task, let logicalTime):
                logger.warning("run skipped: the last one still runs on another scheduler (concurrency = forbid)",
                               metadata: ["task": .string(task), "logical_time": time(logicalTime)])
            case .leaseLost(let task, let logicalTime):
                logger.error("the run lost its lease (it could not be renewed in time): another scheduler may start the task while it runs",
                             metadata: ["task": .string(task), "logical_time": time(logicalTime)])
            case .claimFailed(let task, let logicalTime, let error):
                logger.error("run not started: the claims database failed: \(error)", metadata: ["task": .string(task), "logical_time": time(logicalTime)])
            }
        }

        static func hostName() -> String {
            var buffer = [CChar](repeating: 0, count: 256)
            guard gethostname(&buffer, buffer.count) == 0 else { return "scheduler" }
            return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        }
    }
}
