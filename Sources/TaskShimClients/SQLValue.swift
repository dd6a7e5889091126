import FoundationEssentials
import TaskShimCore

/// A value bound to a SQL parameter. Every value travels as a bound parameter, never spliced into SQL.
public enum SQLValue: Sendable, Equatable {
    case null
    case text(String)
    case integer(Int64)
    case double(Double)
    /// Sent as an RFC 3339 UTC string (`2026-11-22T17:00:00Z`), which Postgres casts to
    /// `timestamp`/`timestamptz` and which sorts correctly as SQLite text.
    case timestamp(Date)

    /// The text form libpq sends; nil for NULL.
    var text: String? {
        switch self {
        case .null: nil
        case .text(let value): value
        case .integer(let value): String(value)
        case .double(let value): JSONLine.number(value)
        case .timestamp(let date): Timestamp.format(date, fractional: false)
        }
    }
}

/// One result row: column values in their text form, as the database prints them.
public struct SQLRow: Sendable, Equatable {
    public var values: [String?]

    public init(_ values: [String?]) {
        self.values = values
    }

    public subscript(_ index: Int) -> String? { values[index] }
}

/// Reads a result a batch at a time, so memory stays flat however many rows the query returns.
public protocol SQLRowCursor: AnyObject, Sendable {
    /// Column names of the result.
    var columns: [String] { get }
    /// Up to `max` further rows; an empty array once the result is exhausted.
    func next(max: Int) async throws -> [SQLRow]
}

/// A database TaskShim can run SQL files against.
public protocol SQLDatabase: AnyObject, Sendable {
    /// `postgres` or `sqlite`, for logs.
    var kind: String { get }
    /// The server or file, without credentials, for logs and error messages.
    var displayName: String { get }
    /// Runs `sql` with `:name` placeholders bound from `parameters` and returns a cursor over the rows.
    func query(_ sql: String, parameters: [String: SQLValue]) async throws -> any SQLRowCursor
    /// A round trip that proves the connection works.
    func ping() async throws
}

extension SQLDatabase {
    /// Runs `sql` and returns all of its rows: for small results only.
    public func all(_ sql: String, parameters: [String: SQLValue] = [:]) async throws -> [SQLRow] {
        let cursor = try await query(sql, parameters: parameters)
        var rows: [SQLRow] = []
        while true {
            let batch = try await cursor.next(max: 1000)
            if batch.isEmpty { return rows }
            rows += batch
        }
    }
}
