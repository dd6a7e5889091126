import FoundationEssentials
import Logging
import TaskShimCore
#if canImport(Glibc)
import Glibc
#endif

/// The durable queue in front of the network sinks: audit events appended as JSON lines to numbered
/// segment files (`seg-0000000000000001.jsonl`), read in order by each sink (a consumer) from its own
/// cursor (`cursor-NAME`), which moves only once the sink has accepted the events. A segment every
/// consumer has passed is deleted. After a crash the next process finds the segments and cursors and
/// carries on: a torn last line is cut off, a missing cursor starts at the oldest event kept.
///
/// One process at a time owns a spool folder (an `flock` on `lock`).
final class AuditSpool: @unchecked Sendable {
    /// Where a consumer is: a segment and a byte offset in it.
    struct Position: Comparable, Sendable {
        var segment: UInt64
        var offset: UInt64
        static func < (a: Position, b: Position) -> Bool { (a.segment, a.offset) < (b.segment, b.offset) }
    }

    /// Lines read for a consumer and the position after them.
    struct Batch {
        var lines: [Data]
        var end: Position
    }

    /// What happens when an append would take the spool over its size limit.
    enum Overflow: String, Sendable {
        /// The oldest segment is deleted, its undelivered events counted and logged at error level.
        case dropOldest = "drop-oldest"
        /// The append fails with a temporary error, so the run fails (exit 75) and is retried later.
        case refuse
    }

    struct Configuration: Sendable {
        var directory: String
        var maxBytes: Int = 256 << 20
        var segmentBytes: Int = 8 << 20
        var overflow: Overflow = .dropOldest
        var fsync: AuditFsync = .everySecond
    }

    let configuration: Configuration
    let consumers: [String]
    private let logger: Logger
    private let lock = Lock()
    // Guarded by `lock`.
    private var sizes: [UInt64: Int] = [:]
    private var current: UInt64 = 1
    private var writer: AppendOnlyFile
    private var cursors: [String: Position] = [:]
    private var dirty = false
    private var droppedEvents = 0
    private var closed = false
    private let lockDescriptor: Int32

    /// Opens (or creates) the spool for these consumers, waiting up to `lockWait` for another process
    /// that holds it.
    init(_ configuration: Configuration, consumers: [String], logger: Logger, lockWait: Duration = .seconds(5)) throws(TaskShimError) {
        var configuration = configuration
        configuration.segmentBytes = max(4096, min(configuration.segmentBytes, configuration.maxBytes / 4))
        self.configuration = configuration
        self.consumers = consumers
        self.logger = logger
        let directory = configuration.directory
        do {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        } catch {
            throw TaskShimError(.ioError, "Cannot create the audit spool folder \(directory): \(error).",
                                hint: "Set TASKSHIM_AUDIT_SPOOL_DIR to a writable folder (a volume, to survive container restarts).")
        }
        lockDescriptor = open(directory + "/lock", O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        guard lockDescriptor >= 0 else {
            throw TaskShimError(.ioError, "Cannot open \(directory)/lock: \(String(cString: strerror(errno))).",
                                hint: "Set TASKSHIM_AUDIT_SPOOL_DIR to a writable folder.")
        }
        let end = ContinuousClock.now + lockWait
        while flock(lockDescriptor, LOCK_EX | LOCK_NB) != 0 {
            guard ContinuousClock.now < end else {
                Glibc.close(lockDescriptor)
                throw TaskShimError(.temporaryFailure, "The audit spool \(directory) is in use by another runtime process.",
                                    hint: "Give each concurrently running process its own TASKSHIM_AUDIT_SPOOL_DIR.")
            }
            usleep(20_000)
        }
        var opened = false
        let lockDescriptor = self.lockDescriptor
        defer { if !opened { Glibc.close(lockDescriptor) } }
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
        for name in names where name.hasPrefix("seg-") && name.hasSuffix(".jsonl") {
            guard let number = UInt64(name.dropFirst(4).dropLast(6)) else { continue }
            sizes[number] = AppendOnlyFile.size(of: directory + "/" + name) ?? 0
        }
        if let last = sizes.keys.max() {
            current = last
            sizes[last] = try Self.repairTail(Self.path(directory, last), size: sizes[last] ?? 0)
        } else {
            current = 1
            sizes[1] = 0
        }
        writer = try AppendOnlyFile(path: Self.path(directory, current))
        let oldest = Position(segment: sizes.keys.min() ?? current, offset: 0)
        for consumer in consumers {
            var position = Self.readCursor(directory, consumer) ?? oldest
            if position.segment < oldest.segment || sizes[position.segment] == nil { position = oldest }
            if let size = sizes[position.segment], position.offset > UInt64(size) { position.offset = UInt64(size) }
            cursors[consumer] = position
        }
        collectGarbage()
        opened = true
    }

    deinit { close() }

    /// Writes everything to disk and lets another process open the spool; later appends fail.
    func close() {
        lock.withLock {
            guard !closed else { return }
            closed = true
            writer.sync()
            writer.close()
            Glibc.close(lockDescriptor)
        }
    }

    static func path(_ directory: String, _ segment: UInt64) -> String {
        let digits = String(segment)
        return directory + "/seg-" + String(repeating: "0", count: max(0, 16 - digits.count)) + digits + ".jsonl"
    }

    private static func cursorPath(_ directory: String, _ consumer: String) -> String { directory + "/cursor-" + consumer }

    private static func readCursor(_ directory: String, _ consumer: String) -> Position? {
        guard let text = try? String(contentsOfFile: cursorPath(directory, consumer), encoding: .utf8) else { return nil }
        let parts = text.split(whereSeparator: { $0 == " " || $0 == "\n" })
        guard parts.count == 2, let segment = UInt64(parts[0]), let offset = UInt64(parts[1]) else { return nil }
        return Position(segment: segment, offset: offset)
    }

    /// Cuts a line the previous process did not finish writing; returns the segment's size.
    private static func repairTail(_ path: String, size: Int) throws(TaskShimError) -> Int {
        guard size > 0 else { return size }
        let window = min(size, 1 << 20)
        guard let tail = AppendOnlyFile.read(path, offset: size - window, count: window), tail.last != UInt8(ascii: "\n") else { return size }
        let keep = tail.lastIndex(of: UInt8(ascii: "\n")).map { size - window + $0 + 1 } ?? (window == size ? 0 : size)
        try AppendOnlyFile.truncate(path, to: keep)
        return keep
    }

    // MARK: Writing

    /// Appends one event line (without its newline).
    func append(_ line: String) throws(TaskShimError) {
        var data = Array(line.utf8)
        data.append(UInt8(ascii: "\n"))
        do { try lock.withLock {
            guard !closed else {
                throw TaskShimError(.software, "An audit event was recorded after the audit trail was closed.")
            }
            if totalBytes + data.count > configuration.maxBytes { try makeRoom(for: data.count) }
            if (sizes[current] ?? 0) > 0, (sizes[current] ?? 0) + data.count > configuration.segmentBytes { try roll() }
            try writer.append(data)
            sizes[current, default: 0] += data.count
            if configuration.fsync == .always { writer.sync() } else { dirty = true }
        } } catch { throw .wrapping(error) }
    }

    private var totalBytes: Int { sizes.values.reduce(0, +) }

    private func roll() throws(TaskShimError) {
        if configuration.fsync != .never { writer.sync() }
        writer.close()
        current += 1
        sizes[current] = 0
        writer = try AppendOnlyFile(path: Self.path(configuration.directory, current))
    }

    private func makeRoom(for bytes: Int) throws(TaskShimError) {
        switch configuration.overflow {
        case .refuse:
            throw TaskShimError.temporary(
                "The audit spool in \(configuration.directory) is full (\(totalBytes) bytes of undelivered events, limit \(configuration.maxBytes)); the event was refused.",
                hint: "A sink has been down a long time: see the audit delivery errors. Raise TASKSHIM_AUDIT_SPOOL_MAX_BYTES or set TASKSHIM_AUDIT_OVERFLOW=drop-oldest.")
        case .dropOldest:
            if sizes.count == 1 { try roll() }
            var dropped = 0
            while totalBytes + bytes > configuration.maxBytes, let oldest = sizes.keys.min(), oldest != current {
                let path = Self.path(configuration.directory, oldest)
                dropped += undeliveredLines(in: path, segment: oldest)
                try? FileManager.default.removeItem(atPath: path)
                sizes[oldest] = nil
                let next = Position(segment: sizes.keys.min() ?? current, offset: 0)
                for (consumer, position) in cursors where position.segment == oldest {
                    cursors[consumer] = next
                    writeCursor(consumer, next)
                }
            }
            droppedEvents += dropped
            logger.error("audit spool full: oldest undelivered events dropped", metadata: [
                "spool": .string(configuration.directory), "dropped_events": .stringConvertible(dropped),
                "dropped_total": .stringConvertible(droppedEvents), "limit_bytes": .stringConvertible(configuration.maxBytes),
                "hint": "a sink has been down a long time; raise TASKSHIM_AUDIT_SPOOL_MAX_BYTES or fix the sink",
            ])
        }
    }

    /// Lines of a segment some consumer has not delivered yet (the lines past the earliest cursor in it).
    private func undeliveredLines(in path: String, segment: UInt64) -> Int {
        let from = cursors.values.filter { $0.segment <= segment }.map { $0.segment < segment ? 0 : $0.offset }.min()
        guard let from, let size = AppendOnlyFile.size(of: path), Int(from) <= size,
              let data = AppendOnlyFile.read(path, offset: Int(from), count: size - Int(from)) else { return 0 }
        return data.reduce(0) { $1 == UInt8(ascii: "\n") ? $0 + 1 : $0 }
    }

    /// Writes appended events to disk (fsync), whatever the policy.
    func sync() {
        lock.withLock {
            guard dirty else { return }
            dirty = false
            writer.sync()
        }
    }

    /// Events dropped by the overflow policy since this process opened the spool.
    var dropped: Int { lock.withLock { droppedEvents } }

    // MARK: Reading

    /// Up to `maxEvents` lines after the consumer's cursor (about `maxBytes`, at least one line), nil
    /// when it has read everything.
    func read(_ consumer: String, maxEvents: Int, maxBytes: Int = 1 << 20) -> Batch? {
        var position: Position
        var available: Int
        (position, available) = lock.withLock { () -> (Position, Int) in
            var position = cursors[consumer] ?? Position(segment: current, offset: 0)
            // Past the end of a finished segment: on to the next one kept.
            while position.segment != current, UInt64(sizes[position.segment] ?? 0) <= position.offset {
                position = Position(segment: sizes.keys.filter { $0 > position.segment }.min() ?? current, offset: 0)
            }
            return (position, sizes[position.segment] ?? 0)
        }
        let remaining = available - Int(position.offset)
        guard remaining > 0 else { return nil }
        let path = Self.path(configuration.directory, position.segment)
        guard var chunk = AppendOnlyFile.read(path, offset: Int(position.offset), count: min(remaining, maxBytes)) else { return nil }
        // A line longer than maxBytes is read whole.
        if chunk.count < remaining, !chunk.contains(UInt8(ascii: "\n")) {
            chunk += AppendOnlyFile.read(path, offset: Int(position.offset) + chunk.count, count: remaining - chunk.count) ?? []
        }
        var lines: [Data] = []
        var start = chunk.startIndex
        while lines.count < maxEvents, let newline = chunk[start...].firstIndex(of: UInt8(ascii: "\n")) {
            lines.append(Data(chunk[start..<newline]))
            start = newline + 1
        }
        guard !lines.isEmpty else { return nil }
        position.offset += UInt64(start - chunk.startIndex)
        return Batch(lines: lines, end: position)
    }

    /// Marks everything before `position` delivered for the consumer.
    func commit(_ consumer: String, _ position: Position) {
        lock.withLock {
            // A drop-oldest may have moved the cursor past this batch meanwhile.
            if let existing = cursors[consumer], existing > position { return }
            cursors[consumer] = position
            writeCursor(consumer, position)
            collectGarbage()
        }
    }

    /// Whether the consumer has read everything appended so far.
    func isDrained(_ consumer: String) -> Bool {
        lock.withLock {
            guard let position = cursors[consumer] else { return true }
            let later = sizes.filter { $0.key > position.segment }.values.reduce(0, +)
            return later == 0 && UInt64(sizes[position.segment] ?? 0) <= position.offset
        }
    }

    /// Undelivered bytes for the consumer (for logs and tests).
    func backlog(_ consumer: String) -> Int {
        lock.withLock {
            guard let position = cursors[consumer] else { return 0 }
            return sizes.filter { $0.key >= position.segment }.values.reduce(0, +) - Int(position.offset)
        }
    }

    private func writeCursor(_ consumer: String, _ position: Position) {
        let path = Self.cursorPath(configuration.directory, consumer)
        let temporary = path + ".tmp"
        let text = "\(position.segment) \(position.offset)\n"
        do {
            try? FileManager.default.removeItem(atPath: temporary)
            let file = try AppendOnlyFile(path: temporary)
            try file.append(Array(text.utf8))
            if configuration.fsync == .always { file.sync() }
            file.close()
        } catch {
            logger.error("cannot write the audit cursor", metadata: ["path": .string(path), "error": .string(error.description)])
            return
        }
        if rename(temporary, path) != 0 {
            logger.error("cannot write the audit cursor", metadata: ["path": .string(path), "error": .string(String(cString: strerror(errno)))])
        }
    }

    /// Deletes the segments every consumer has passed (never the one being written).
    private func collectGarbage() {
        let earliest = consumers.compactMap { cursors[$0]?.segment }.min() ?? current
        for segment in sizes.keys where segment < earliest && segment != current {
            try? FileManager.default.removeItem(atPath: Self.path(configuration.directory, segment))
            sizes[segment] = nil
        }
    }
}
