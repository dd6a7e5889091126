import TaskShimCore

/// Opens the database a `DATABASE_URL` names.
public enum SQLDatabases {
    /// `postgres://...` or `postgresql://...` through libpq; `sqlite:PATH`, `sqlite://PATH` or
    /// `file:PATH` as a SQLite file.
    public static func open(url: String, options: PostgresConnection.Options = .init()) async throws -> any SQLDatabase {
        let lower = url.lowercased()
        if lower.hasPrefix("postgres://") || lower.hasPrefix("postgresql://") {
            return try await PostgresConnection.connect(url: url, options: options)
        }
        if let path = sqlitePath(url) {
            return try await SQLiteDatabase.open(path: path, create: false)
        }
        let scheme = url.split(separator: ":").first.map(String.init) ?? url
        throw TaskShimError.configuration("DATABASE_URL has the unsupported scheme '\(scheme)'.",
                                          hint: "Use postgres://user:password@host:5432/db or sqlite:/path/to/file.db.")
    }

    /// The file a `sqlite:PATH`, `sqlite://PATH` (so `sqlite:///abs/path`) or `file:PATH` URL names; nil for other URLs.
    public static func sqlitePath(_ url: String) -> String? {
        let lower = url.lowercased()
        for prefix in ["sqlite://", "sqlite:", "file:"] where lower.hasPrefix(prefix) {
            let path = String(url.dropFirst(prefix.count))
            return path.isEmpty ? nil : path
        }
        return nil
    }
}
