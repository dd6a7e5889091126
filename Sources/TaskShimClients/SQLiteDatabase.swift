import CSQLite
import Synchronization
import FoundationEssentials
import TaskShimCore

/// A SQLite database file. Statements run on the database's own thread; `:name` placeholders are
/// SQLite's own named parameters, bound by name.
public final class SQLiteDatabase: SQLDatabase, @unchecked Sendable {
    public let kind = "sqlite"
    public let displayName: String

    // Touched only on `queue`.
    private var handle: OpaquePointer?
    private let queue: BlockingQueue

    private init(handle: OpaquePointer, path: String) {
        self.handle = handle
        self.displayName = path
        self.queue = BlockingQueue(label: "taskshim.sqlite")
    }

    deinit {
        if let handle { sqlite3_close_v2(handle) }
    }

    /// Opens (and with `create`, creates) the database file at `path`.
    public static func open(path: String, create: Bool = true, readOnly: Bool = false) async throws -> SQLiteDatabase {
        try NativeLibrary.sqlite.require(for: "SQLite (\(path))")
        let queue = BlockingQueue(label: "taskshim.sqlite.open")
        let pointer = try await queue.run { () throws -> UnsafeSendablePointer in
            var db: OpaquePointer?
            var flags = readOnly ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE
            if create && !readOnly { flags |= SQLITE_OPEN_CREATE }
            flags |= SQLITE_OPEN_NOMUTEX
            let status = sqlite3_open_v2(path, &db, flags, nil)
            guard status == SQLITE_OK, let db else {
                let message = db.map { String(cString: sqlite3_errmsg($0)) } ?? String(cString: sqlite3_errstr(status))
                if let db { sqlite3_close_v2(db) }
                throw TaskShimError(.noInput, "Cannot open the SQLite database \(path): \(message).",
                                    hint: "Check that the file exists and is readable, or unset DATABASE_URL to use the embedded demo database.")
            }
            sqlite3_busy_timeout(db, 5000)
            sqlite3_extended_result_codes(db, 1)
            return UnsafeSendablePointer(db)
        }
        return SQLiteDatabase(handle: pointer.pointer, path: path)
    }

    public func ping() async throws {
        _ = try await all("SELECT 1")
    }

    /// Runs statements that return no rows (schema, inserts), possibly several separated by `;`.
    public func execute(_ sql: String) async throws {
        let path = displayName
        try await queue.run { [self] in
            guard let handle else { throw TaskShimError.temporary("The SQLite database is closed.") }
            var error: UnsafeMutablePointer<CChar>?
            let status = sqlite3_exec(handle, sql, nil, nil, &error)
            if status != SQLITE_OK {
                let message = error.map { String(cString: $0) } ?? "unknown error"
                sqlite3_free(error)
                throw Self.failure(status, "SQLite \(path): \(message).")
            }
        }
    }

    /// Inserts many rows with one prepared statement inside one transaction.
    public func insert(_ sql: String, rows: [[SQLValue]]) async throws {
        let path = displayName
        try await queue.run { [self] in
            guard let handle else { throw TaskShimError.temporary("The SQLite database is closed.") }
            var statement: OpaquePointer?
            guard sqlite3_prepare_v2(handle, sql, -1, &statement, nil) == SQLITE_OK, let statement else {
                throw TaskShimError.data("SQLite \(path): \(String(cString: sqlite3_errmsg(handle))).")
            }
            defer { sqlite3_finalize(statement) }
            sqlite3_exec(handle, "BEGIN", nil, nil, nil)
            for row in rows {
                sqlite3_reset(statement)
                for (index, value) in row.enumerated() { Self.bind(value, at: Int32(index + 1), in: statement) }
                guard sqlite3_step(statement) == SQLITE_DONE else {
                    let message = String(cString: sqlite3_errmsg(handle))
                    sqlite3_exec(handle, "ROLLBACK", nil, nil, nil)
                    throw TaskShimError.data("SQLite \(path): \(message).")
                }
            }
            sqlite3_exec(handle, "COMMIT", nil, nil, nil)
        }
    }

    public func query(_ sql: String, parameters: [String: SQLValue]) async throws -> any SQLRowCursor {
        let path = displayName
        let prepared = try await queue.run { [self] () throws -> UnsafeSendablePointer in
            guard let handle else { throw TaskShimError.temporary("The SQLite database is closed.") }
            var statement: OpaquePointer?
            let prepared = sqlite3_prepare_v2(handle, sql, -1, &statement, nil)
            guard prepared == SQLITE_OK, let statement else {
                let message = String(cString: sqlite3_errmsg(handle))
                if prepared & 0xFF == SQLITE_BUSY || prepared & 0xFF == SQLITE_LOCKED { throw Self.failure(prepared, "SQLite \(path): \(message).") }
                let offset = sqlite3_error_offset(handle)
                var location = ""
                if offset >= 0 {
                    let (line, column) = lineAndColumn(of: Int(offset) + 1, in: sql)
                    location = " at line \(line), column \(column)"
                }
                throw TaskShimError.data("SQLite \(path) rejected the query\(location): \(message).",
                                         hint: "Fix the SQL file and run again.")
            }
            let count = sqlite3_bind_parameter_count(statement)
            if count > 0 {
                for index in 1...count {
                    // Copy the name now: it belongs to the statement.
                    let placeholder = sqlite3_bind_parameter_name(statement, index).map { String(cString: $0) }
                    let name = placeholder.map { String($0.dropFirst()) } ?? ""
                    guard let placeholder, placeholder.first != "?", !(name.first?.isNumber ?? true) else {
                        sqlite3_finalize(statement)
                        throw TaskShimError.data("The SQL uses a positional parameter (?, ?1 or $1).",
                                                 hint: "Use named placeholders such as :window_start.")
                    }
                    guard let value = parameters[name] else {
                        sqlite3_finalize(statement)
                        let known = parameters.keys.sorted().map { ":" + $0 }.joined(separator: ", ")
                        throw TaskShimError.data("The SQL uses the placeholder \(placeholder), which has no value.",
                                                 hint: "Available placeholders: \(known.isEmpty ? "none" : known).")
                    }
                    Self.bind(value, at: index, in: statement)
                }
            }
            return UnsafeSendablePointer(statement)
        }
        return BatchCursor(fetch: { [self] max in try await step(prepared, max: max) },
                           release: { [self] _ in finalize(prepared) })
    }

    /// A lock another connection held past the busy timeout is temporary; anything else is the statement's fault.
    private static func failure(_ status: Int32, _ message: String) -> TaskShimError {
        switch status & 0xFF {
        case SQLITE_BUSY, SQLITE_LOCKED:
            .temporary(message, hint: "Another process held the database's lock for more than 5 s; the call can be retried.")
        default:
            .data(message)
        }
    }

    private static func bind(_ value: SQLValue, at index: Int32, in statement: OpaquePointer) {
        switch value {
        case .null: sqlite3_bind_null(statement, index)
        case .integer(let number): sqlite3_bind_int64(statement, index, number)
        case .double(let number): sqlite3_bind_double(statement, index, number)
        case .text, .timestamp: sqlite3_bind_text(statement, index, value.text!, -1, taskshim_sqlite_transient())
        }
    }

    /// Cancelling the calling task stops the statement: SQLite's progress handler checks a flag every
    /// thousand VM steps. (A flag rather than `sqlite3_interrupt`, which is lost when it arrives before
    /// the step has started.)
    private func step(_ box: UnsafeSendablePointer, max: Int) async throws -> RowBatch {
        let cancelled = CancelFlag()
        return try await withTaskCancellationHandler {
            try await stepRows(box, max: max, cancelled: cancelled)
        } onCancel: {
            cancelled.set()
        }
    }

    private func stepRows(_ box: UnsafeSendablePointer, max: Int, cancelled: CancelFlag) async throws -> RowBatch {
        let path = displayName
        return try await queue.run { [self] in
            let statement = box.pointer
            let context = Unmanaged.passUnretained(cancelled).toOpaque()
            sqlite3_progress_handler(handle, 1000, sqliteProgress, context)
            defer { withExtendedLifetime(cancelled) { sqlite3_progress_handler(handle, 0, nil, nil) } }
            let width = sqlite3_column_count(statement)
            let columns = (0..<width).map { String(cString: sqlite3_column_name(statement, $0)) }
            var rows: [SQLRow] = []
            while rows.count < max {
                let status = sqlite3_step(statement)
                if status == SQLITE_DONE { return (columns, rows, true) }
                if status & 0xFF == SQLITE_INTERRUPT { throw CancellationError() }
                guard status == SQLITE_ROW else {
                    let message = handle.map { String(cString: sqlite3_errmsg($0)) } ?? "closed"
                    throw Self.failure(status, "SQLite \(path) failed while reading rows: \(message).")
                }
                rows.append(SQLRow((0..<width).map { column in
                    guard sqlite3_column_type(statement, column) != SQLITE_NULL,
                          let text = sqlite3_column_text(statement, column) else { return nil }
                    return String(cString: text)
                }))
            }
            return (columns, rows, false)
        }
    }

    private func finalize(_ box: UnsafeSendablePointer) {
        queue.sync { _ = sqlite3_finalize(box.pointer) }
    }
}

/// Set from any thread when the task waiting for a statement is cancelled.
final class CancelFlag: Sendable {
    private let value = Atomic<Bool>(false)
    func set() { value.store(true, ordering: .relaxed) }
    var isSet: Bool { value.load(ordering: .relaxed) }
}

/// Non-zero makes SQLite stop the statement with SQLITE_INTERRUPT.
private let sqliteProgress: @convention(c) (UnsafeMutableRawPointer?) -> Int32 = { context in
    guard let context else { return 0 }
    return Unmanaged<CancelFlag>.fromOpaque(context).takeUnretainedValue().isSet ? 1 : 0
}
