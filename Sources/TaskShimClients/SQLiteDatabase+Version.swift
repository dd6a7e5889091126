extension SQLiteDatabase {
    /// The library's version, and whether it has `RETURNING` (3.35+; Ubuntu 20.04 and RHEL 8 ship older ones).
    public func returningSupport() async throws -> (supported: Bool, version: String) {
        let version = try await all("SELECT sqlite_version()").first?[0] ?? "0"
        let parts = version.split(separator: ".").compactMap { Int($0) } + [0, 0]
        return (parts[0] > 3 || (parts[0] == 3 && parts[1] >= 35), version)
    }
}
