import FoundationEssentials

extension Platform {
    /// This machine's host name (the kernel's), for ids and log envelopes; nil when it cannot be read.
    public static var hostname: String? {
        (try? String(contentsOfFile: "/proc/sys/kernel/hostname", encoding: .utf8)).map(\.trimmed).flatMap { $0.isEmpty ? nil : $0 }
    }
}
