import CLibPQ
import FoundationEssentials
#if canImport(Glibc)
import Glibc
#endif
import Logging
import TaskShimCore

/// One PostgreSQL connection over libpq. Blocking libpq calls run on the connection's own thread.
///
/// Queries use bound parameters only (`PQsendQueryParams`) and single-row mode, so a result of
/// millions of rows is read a batch at a time.
public final class PostgresConnection: SQLDatabase, @unchecked Sendable {
    public let kind = "postgres"
    public let displayName: String

    // Touched only on `queue`.
    private var connection: OpaquePointer?
    private let queue: BlockingQueue
    private var busy = false
    /// libpq's cancel object: `PQcancel` on it is safe from any thread while a query runs.
    private let cancelHandle: OpaquePointer?

    /// Connection settings besides the URL.
    public struct Options: Sendable {
        /// Seconds to wait for the TCP connection and authentication (libpq `connect_timeout`).
        public var connectTimeoutSeconds: Int = 10
        /// Milliseconds a statement may run before the server cancels it; 0 for no limit.
        public var statementTimeoutMilliseconds: Int = 0
        public var applicationName: String = "taskshim"

        public init(connectTimeoutSeconds: Int = 10, statementTimeoutMilliseconds: Int = 0) {
            self.connectTimeoutSeconds = connectTimeoutSeconds
            self.statementTimeoutMilliseconds = statementTimeoutMilliseconds
        }
    }

    private init(connection: OpaquePointer, displayName: String) {
        self.connection = connection
        self.cancelHandle = PQgetCancel(connection)
        self.displayName = displayName
        self.queue = BlockingQueue(label: "taskshim.postgres")
    }

    deinit {
        if let cancelHandle { PQfreeCancel(cancelHandle) }
        if let connection { PQfinish(connection) }
    }

    /// Waits up to `timeout` for notifications on the channels this connection `LISTEN`s to and
    /// returns their payloads (none when the time ran out). Throws a temporary error when the
    /// connection is lost.
    public func notifications(timeout: Duration) async throws -> [String] {
        let display = displayName
        return try await queue.run { [self] in
            guard let connection else { throw TaskShimError.temporary("The connection to \(display) is closed.") }
            var payloads: [String] = []
            func receive() throws {
                guard PQconsumeInput(connection) == 1 else {
                    throw TaskShimError.temporary("The connection to \(display) was lost while waiting for notifications: "
                                                  + String(cString: PQerrorMessage(connection)).trimmed)
                }
                while let notification = PQnotifies(connection) {
                    payloads.append(String(cString: notification.pointee.extra))
                    PQfreemem(notification)
                }
            }
            try receive()
            if payloads.isEmpty {
                var descriptor = pollfd(fd: PQsocket(connection), events: Int16(POLLIN), revents: 0)
                let milliseconds = Int32(clamping: timeout.nanoseconds / 1_000_000)
                if poll(&descriptor, 1, milliseconds) > 0 { try receive() }
            }
            return payloads
        }
    }

    /// Asks the server to cancel the statement in flight (the task waiting for it was cancelled).
    /// The statement then fails with SQLSTATE 57014, which the waiting call reports.
    func cancelRunningQuery() {
        guard let cancelHandle else { return }
        var buffer = [CChar](repeating: 0, count: 256)
        _ = PQcancel(cancelHandle, &buffer, Int32(buffer.count))
    }

    /// Connects to a `postgres://` or `postgresql://` URL (or a libpq keyword string). TLS follows the
    /// URL's `sslmode`, as libpq defines it (`verify-full` checks the certificate and host name).
    public static func connect(url: String, options: Options = Options()) async throws -> PostgresConnection {
        let display = PostgresConnection.describe(url: url)
        try NativeLibrary.postgres.require(for: "PostgreSQL (\(display))")
        let queue = BlockingQueue(label: "taskshim.postgres.connect")
        // Within a run, no longer than the time left (libpq counts whole seconds, at least 2).
        let bounded = try Deadline.bound(.seconds(options.connectTimeoutSeconds), for: "connecting to PostgreSQL (\(display))")
        let connectTimeout = max(2, Int(bounded.seconds.rounded(.up)))
        let handle = try await queue.run { () throws -> UnsafeSendablePointer in
            // Earlier keywords are defaults: values in the URL (expanded from dbname) override them.
            let keywords = ["connect_timeout", "application_name", "dbname"]
            let values = [String(connectTimeout), options.applicationName, url]
            let conn = withCStrings(keywords) { k in withCStrings(values) { v in PQconnectdbParams(k, v, 1) } }
            guard let conn else { throw TaskShimError.temporary("libpq could not allocate a connection.") }
            if PQstatus(conn) != CONNECTION_OK {
                let message = String(cString: PQerrorMessage(conn)).trimmed
                PQfinish(conn)
                throw PostgresConnection.connectError(message, display: display)
            }
            return UnsafeSendablePointer(conn)
        }
        let connection = PostgresConnection(connection: handle.pointer, displayName: display)
        if options.statementTimeoutMilliseconds > 0 {
            _ = try await connection.all("SELECT set_config('statement_timeout', :ms, false)",
                                         parameters: ["ms": .text(String(options.statementTimeoutMilliseconds))])
        }
        return connection
    }

    /// `host:port/dbname` of a URL, with no user or password.
    public static func describe(url: String) -> String {
        guard let components = URLComponents(string: url), let host = components.host else { return "postgres" }
        let port = components.port.map { ":\($0)" } ?? ""
        return "\(host)\(port)\(components.path)"
    }

    static func connectError(_ message: String, display: String) -> TaskShimError {
        let lower = message.lowercased()
        if lower.contains("password authentication failed") || lower.contains("no password supplied")
            || lower.contains("authentication failed") || lower.contains("no pg_hba.conf entry") {
            return TaskShimError(.noPermission, "PostgreSQL at \(display) refused the credentials: \(message)",
                                 hint: "Check the user and password in DATABASE_URL.")
        }
        if lower.contains("certificate") || lower.contains("sslmode") || lower.contains("does not support ssl") {
            return .configuration("TLS to PostgreSQL at \(display) failed: \(message)",
                                  hint: "Check sslmode and sslrootcert in DATABASE_URL; verify-full needs the server's CA.")
        }
        if lower.contains("does not exist") {
            return .configuration("PostgreSQL at \(display): \(message)", hint: "Check the database name in DATABASE_URL.")
        }
        if lower.contains("invalid") || lower.contains("missing") || lower.contains("unrecognized") {
            return .configuration("DATABASE_URL is not a valid PostgreSQL URL: \(message)",
                                  hint: "Use postgres://user:password@host:5432/dbname?sslmode=verify-full.")
        }
        return .temporary("Cannot connect to PostgreSQL at \(display): \(message)",
                          hint: "Check that the server is running and reachable; the run can be retried.")
    }

    public func ping() async throws {
        _ = try await all("SELECT 1")
    }

    public func query(_ sql: String, parameters: [String: SQLValue]) async throws -> any SQLRowCursor {
        let named = NamedParameters(parsing: sql)
        let values = try named.values(from: parameters).map(\.text)
        let display = displayName
        let columns: [String] = try await queue.run { [self] in
            guard let connection else { throw TaskShimError.temporary("The PostgreSQL connection is closed.") }
            guard !busy else { throw TaskShimError(.software, "A PostgreSQL connection ran two queries at once.") }
            let sent = withOptionalCStrings(values) { pointers in
                PQsendQueryParams(connection, named.positionalSQL, Int32(values.count), nil, pointers, nil, nil, 0)
            }
            guard sent == 1 else {
                throw PostgresConnection.connectError(String(cString: PQerrorMessage(connection)), display: display)
            }
            PQsetSingleRowMode(connection)
            busy = true
            return []
        }
        return BatchCursor(columns: columns, fetch: { [self] max in try await fetch(max: max, sql: sql) },
                           release: { [self] finished in
                               if !finished { Task { await discardRemaining() } }
                           })
    }

    /// Reads up to `max` rows of the query in flight, on the connection's thread.
    private func fetch(max: Int, sql: String) async throws -> RowBatch {
        try await withTaskCancellationHandler {
            try await fetchRows(max: max, sql: sql)
        } onCancel: {
            cancelRunningQuery()
        }
    }

    private func fetchRows(max: Int, sql: String) async throws -> RowBatch {
        let display = displayName
        return try await queue.run { [self] in
            guard let connection else { throw TaskShimError.temporary("The PostgreSQL connection is closed.") }
            var rows: [SQLRow] = []
            var columns: [String] = []
            var failure: TaskShimError?
            while rows.count < max {
                guard let result = PQgetResult(connection) else {
                    busy = false
                    if let failure { throw failure }
                    return (columns, rows, true)
                }
                defer { PQclear(result) }
                switch PQresultStatus(result) {
                case PGRES_SINGLE_TUPLE:
                    let width = PQnfields(result)
                    if columns.isEmpty {
                        columns = (0..<width).map { String(cString: PQfname(result, $0)) }
                    }
                    rows.append(SQLRow((0..<width).map { column in
                        PQgetisnull(result, 0, column) == 1 ? nil : String(cString: PQgetvalue(result, 0, column))
                    }))
                case PGRES_TUPLES_OK, PGRES_COMMAND_OK:
                    if columns.isEmpty {
                        columns = (0..<PQnfields(result)).map { String(cString: PQfname(result, $0)) }
                    }
                default:
                    failure = PostgresConnection.queryError(result, connection: connection, sql: sql, display: display)
                }
            }
            return (columns, rows, false)
        }
    }

    /// Drains what is left of a result so the connection is usable again.
    private func discardRemaining() async {
        _ = try? await queue.run { [self] in
            guard let connection, busy else { return }
            while let result = PQgetResult(connection) { PQclear(result) }
            busy = false
        }
    }

    static func queryError(_ result: OpaquePointer, connection: OpaquePointer, sql: String, display: String) -> TaskShimError {
        func field(_ code: Character) -> String? {
            guard let value = PQresultErrorField(result, Int32(code.asciiValue!)) else { return nil }
            return String(cString: value)
        }
        let primary = field("M") ?? String(cString: PQerrorMessage(connection)).trimmed
        let state = field("C") ?? ""
        var location = ""
        if let raw = field("P"), let position = Int(raw) {
            let (line, column) = lineAndColumn(of: position, in: sql)
            location = " at line \(line), column \(column)"
        }
        let detail = [field("D"), field("H")].compactMap { $0 }.joined(separator: " ")
        let message = "PostgreSQL at \(display) rejected the query\(location): \(primary)\(state.isEmpty ? "" : " (SQLSTATE \(state))")."
            + (detail.isEmpty ? "" : " \(detail)")
        // Class 08 (connection), 40001/40P01 (serialization, deadlock), 53 (resources), 57P (shutdown,
        // cancel on timeout) may succeed later; anything else is the SQL's fault.
        if state.isEmpty && PQstatus(connection) == CONNECTION_BAD {
            return .temporary("The connection to PostgreSQL at \(display) was lost: \(primary)", hint: "The run can be retried.")
        }
        if state.hasPrefix("08") || state == "40001" || state == "40P01" || state.hasPrefix("53") || state.hasPrefix("57") {
            return .temporary(message, hint: "The run can be retried.")
        }
        if state.hasPrefix("28") { return TaskShimError(.noPermission, message) }
        if state.hasPrefix("42") || state.hasPrefix("22") {
            return .data(message, hint: "Fix the SQL file and run again.")
        }
        return TaskShimError(.unavailable, message)
    }
}

/// A C pointer handed between the connecting thread and the connection, never used concurrently.
struct UnsafeSendablePointer: @unchecked Sendable {
    let pointer: OpaquePointer
    init(_ pointer: OpaquePointer) { self.pointer = pointer }
}

func withCStrings<R>(_ strings: [String], _ body: ([UnsafePointer<CChar>?]) -> R) -> R {
    var pointers: [UnsafeMutablePointer<CChar>?] = strings.map { strdup($0) }
    pointers.append(nil)
    defer { for pointer in pointers { free(pointer) } }
    return body(pointers.map { $0.map { UnsafePointer($0) } })
}

func withOptionalCStrings<R>(_ strings: [String?], _ body: ([UnsafePointer<CChar>?]) -> R) -> R {
    let pointers: [UnsafeMutablePointer<CChar>?] = strings.map { $0.map { strdup($0) } ?? nil }
    defer { for pointer in pointers { free(pointer) } }
    return body(pointers.map { $0.map { UnsafePointer($0) } })
}
