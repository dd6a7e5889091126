import FoundationEssentials
#if canImport(Glibc)
import Glibc
#endif
import TaskShimCore
import TaskShimClients

/// The embedded SQLite database used when `DATABASE_URL` is unset: a `measurements` table with a
/// reading every five minutes for three network elements and three metrics over the last two days,
/// topped up to the present on every run so that the default window always has data.
public enum DemoDatabase {
    public static let fileName = "demo.sqlite"
    static let elements = ["router-01", "router-02", "switch-01"]
    static let filters = ["cpu_percent", "memory_percent", "ingress_mbps"]
    static let step: TimeInterval = 300
    static let history: TimeInterval = 48 * 3600

    /// Opens (creating and seeding when needed) the demo database under `directory`.
    public static func open(directory: String, now: Date = Date()) async throws -> SQLiteDatabase {
        do {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        } catch {
            throw TaskShimError(.ioError, "Cannot create the data directory \(directory): \(error).",
                                hint: "Set TASKSHIM_DATA_DIR to a writable folder, or DATABASE_URL to your database.")
        }
        let database = try await SQLiteDatabase.open(path: FilePath.join(directory, fileName))
        try await database.execute("""
            CREATE TABLE IF NOT EXISTS measurements (
                element_name TEXT NOT NULL,
                ts TEXT NOT NULL,
                filter TEXT NOT NULL,
                value REAL NOT NULL
            );
            CREATE INDEX IF NOT EXISTS measurements_ts ON measurements (ts);
            """)
        let newest = try await database.all("SELECT MAX(ts) FROM measurements").first?[0].flatMap(Timestamp.parse)
        let last = (now.timeIntervalSince1970 / step).rounded(.down) * step
        var next = newest.map { $0.timeIntervalSince1970 + step } ?? (last - history)
        next = max(next, last - history)
        var rows: [[SQLValue]] = []
        while next <= last {
            let time = Date(timeIntervalSince1970: next)
            for (e, element) in elements.enumerated() {
                for (f, filter) in filters.enumerated() {
                    rows.append([.text(element), .timestamp(time), .text(filter), .double(reading(next, e, f))])
                }
            }
            next += step
        }
        if !rows.isEmpty {
            try await database.insert("INSERT INTO measurements (element_name, ts, filter, value) VALUES (?1, ?2, ?3, ?4)", rows: rows)
        }
        return database
    }

    /// A deterministic, plausible reading: a daily cycle plus a little noise.
    static func reading(_ time: TimeInterval, _ element: Int, _ filter: Int) -> Double {
        let base = [35.0, 60.0, 420.0][filter] * (1 + Double(element) * 0.15)
        let daily = sin(time / 86_400 * 2 * .pi) * base * 0.25
        var hash = UInt64(time) &* 0x9E37_79B9_7F4A_7C15 &+ UInt64(element * 31 + filter)
        hash ^= hash >> 29
        let noise = Double(hash % 1000) / 1000 * base * 0.05
        return ((base + daily + noise) * 100).rounded() / 100
    }
}
