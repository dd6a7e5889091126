/// Sizes the way AWS states Lambda's limits: KB and MB of 1,024 (its 50 MB is 52,428,800 bytes).
public enum ByteCount {
    /// `812 B`, `14 KB`, `14.2 MB`.
    public static func format(_ bytes: Int) -> String {
        if bytes < 1024 { return "\(bytes) B" }
        if bytes < 1024 * 1024 { return "\((bytes + 512) / 1024) KB" }
        let tenths = (bytes * 10 + 512 * 1024) / (1024 * 1024)
        return "\(tenths / 10).\(tenths % 10) MB"
    }
}
