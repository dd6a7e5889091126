import ArgumentParser
import FoundationEssentials
import TaskShimQueue

/// `runtime jobs`: look into a queue and act on its jobs.
struct JobsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "jobs",
        abstract: "Inspect a queue's jobs: counts, lists, one job; retry failed jobs, purge finished ones.",
        discussion: """
            Examples:
              runtime jobs stats --queue $TASKSHIM_QUEUE_URL
              runtime jobs list --status failed --limit 50
              runtime jobs show 4211 | jq .error
              runtime jobs retry --all-failed --queue-name reports
              runtime jobs purge --older-than 7d --status completed
            """,
        subcommands: [Stats.self, List.self, Show.self, Retry.self, Purge.self]
    )

    struct Target: ParsableArguments {
        @Option(name: .long, help: ArgumentHelp("The queue: a postgres://, redis:// or sqlite: URL (default: TASKSHIM_QUEUE_URL, DATABASE_URL, REDIS_URL, else the file .taskshim/queue.db).", valueName: "url"))
        var queue: String?

        @Option(name: .long, help: ArgumentHelp("Only this queue name (default: all of them).", valueName: "name"))
        var queueName: String?

        /// Opens the queue and runs `body`, reporting errors as every command does.
        func with(_ body: @escaping (any JobQueue, Runtime.IO) async throws -> Void) async throws {
            guard let (_, io) = Runtime.current else { return }
            try await io.reportingErrors { _ throws(TaskShimError) in
                let jobQueue = try QueueURL.open(queue, environment: io.environment)
                do {
                    try await jobQueue.migrate()
                    try await body(jobQueue, io)
                } catch {
                    throw .wrapping(error)
                }
            }
        }
    }

    struct Stats: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Jobs per status.")
        @OptionGroup var target: Target
        @Flag(name: .long, help: "One JSON object instead of a table.") var json = false

        func run() async throws {
            try await target.with { jobs, io in
                let stats = try await jobs.stats(queue: target.queueName)
                if json {
                    var line = JSONLine()
                    for status in JobStatus.allCases { line.add(status.rawValue, stats[status]) }
                    io.standardOutput.write(line: line.string)
                } else {
                    for status in JobStatus.allCases { io.standardOutput.write(line: status.rawValue.padding(10) + String(stats[status])) }
                }
            }
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "The newest jobs, one per line.")
        @OptionGroup var target: Target
        @Option(name: .long, help: ArgumentHelp("Only jobs with this status: queued, retry, running, completed, failed.", valueName: "status"))
        var status: Choice<JobStatus>?
        @Option(name: .long, help: "How many at most.") var limit = 20
        @Flag(name: .long, help: "JSON lines (every field) instead of a table.") var json = false

        func validate() throws {
            guard (1...100_000).contains(limit) else { throw ValidationError("--limit must be from 1 to 100000.") }
        }

        func run() async throws {
            try await target.with { jobs, io in
                let records = try await jobs.list(queue: target.queueName, status: status?.value, limit: limit)
                if json {
                    for record in records { io.standardOutput.write(line: record.jsonLine) }
                    return
                }
                io.standardOutput.write(line: "ID".padding(10) + "STATUS".padding(10) + "QUEUE".padding(14) + "TYPE".padding(24)
                                        + "TRY".padding(6) + "CREATED".padding(22) + "ERROR")
                for record in records {
                    let tries = "\(record.attempt)/\(record.maxAttempts)"
                    let created = record.createdAt.map { Timestamp.format($0, fractional: false) } ?? "-"
                    let error = record.error.map { String($0.prefix(80)) } ?? ""
                    io.standardOutput.write(line: String(record.id).padding(10) + record.status.rawValue.padding(10) + record.queue.padding(14)
                                            + record.type.padding(24) + tries.padding(6) + created.padding(22) + error)
                }
            }
        }
    }

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "One job, every field, as JSON.")
        @OptionGroup var target: Target
        @Argument(help: "The job id.") var id: Int64

        func run() async throws {
            try await target.with { jobs, io in
                guard let record = try await jobs.job(id) else {
                    throw TaskShimError(.noInput, "There is no job \(id) in \(jobs.displayName).",
                                        hint: "It may have been purged; `runtime jobs list` shows the newest.")
                }
                io.standardOutput.write(line: record.jsonLine)
            }
        }
    }

    struct Retry: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Put failed jobs back in the queue, their tries counted anew.")
        @OptionGroup var target: Target
        @Argument(help: "The failed job's id.") var id: Int64?
        @Flag(name: .long, help: "Every failed job (of --queue-name, else of all queues).") var allFailed = false

        func validate() throws {
            guard (id != nil) != allFailed else { throw ValidationError("Give a job id or --all-failed, not both.") }
        }

        func run() async throws {
            try await target.with { jobs, io in
                let moved = try await jobs.retry(id: id, queue: target.queueName)
                if let id, moved == 0 {
                    throw TaskShimError(.dataError, "Job \(id) is not a failed job (or its unique key is held by another job).",
                                        hint: "`runtime jobs show \(id)` shows its status.")
                }
                io.standardOutput.write(line: "\(moved) job\(moved == 1 ? "" : "s") back in the queue")
            }
        }
    }

    struct Purge: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Delete finished (completed and failed) jobs.")
        @OptionGroup var target: Target
        @Option(name: .long, help: ArgumentHelp("Only completed or only failed jobs.", valueName: "status"))
        var status: Choice<JobStatus>?
        @Option(name: .long, help: ArgumentHelp("Only jobs finished longer ago than this: 30m, 12h, 7d.", valueName: "age"))
        var olderThan: String

        func validate() throws {
            guard Duration(parsing: olderThan) != nil else { throw ValidationError("--older-than takes an age such as 30m, 12h or 7d.") }
            if let status, !status.value.isFinished { throw ValidationError("--status must be completed or failed: only finished jobs are purged.") }
        }

        func run() async throws {
            let age = Duration(parsing: olderThan) ?? .zero
            try await target.with { jobs, io in
                let deleted = try await jobs.purge(queue: target.queueName, status: status?.value, before: Date().addingTimeInterval(-age.seconds))
                io.standardOutput.write(line: "\(deleted) job\(deleted == 1 ? "" : "s") deleted")
            }
        }
    }
}

extension JobRecord {
    /// Every field as one JSON object; payload and result as the JSON they are, times in RFC 3339.
    var jsonLine: String {
        var line = JSONLine()
        line.add("id", Int(id))
        line.add("queue", queue)
        line.add("type", type)
        line.add("status", status.rawValue)
        line.add("attempt", attempt)
        line.add("max_attempts", maxAttempts)
        line.add("priority", priority)
        if let uniqueKey { line.add("unique_key", uniqueKey) }
        if let workerID { line.add("worker_id", workerID) }
        for (key, date) in [("created_at", createdAt), ("available_at", availableAt), ("started_at", startedAt), ("finished_at", finishedAt)] {
            if let date { line.add(key, Timestamp.format(date)) }
        }
        line.add("payload", rawJSON: JSONValue.isValid(payload) ? String(decoding: payload, as: UTF8.self) : JSONLine.quoted(String(decoding: payload, as: UTF8.self)))
        if let result { line.add("result", rawJSON: JSONValue.isValid(result) ? String(decoding: result, as: UTF8.self) : JSONLine.quoted(String(decoding: result, as: UTF8.self))) }
        if let error { line.add("error", error) }
        return line.string
    }
}

extension String {
    /// Left-aligned in a column of `width` (one space at least after it).
    fileprivate func padding(_ width: Int) -> String {
        count >= width - 1 ? self + " " : self + String(repeating: " ", count: width - count)
    }
}
