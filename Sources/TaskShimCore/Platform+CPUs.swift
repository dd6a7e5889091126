import FoundationEssentials

extension Platform {
    /// How many CPUs this process may run on (its affinity mask: `taskset`, systemd's `CPUAffinity=`),
    /// read from /proc/self/status; nil where that cannot be read. A cgroup's quota is not counted
    /// here: NIO's `System.coreCount` counts that one.
    public static var allowedCPUs: Int? {
        (try? String(contentsOfFile: "/proc/self/status", encoding: .utf8)).flatMap(allowedCPUs(status:))
    }

    /// The CPUs in the `Cpus_allowed_list:` line of a /proc/PID/status text (`0-3,8,10-11`: 7).
    public static func allowedCPUs(status: String) -> Int? {
        guard let line = status.split(separator: "\n").first(where: { $0.hasPrefix("Cpus_allowed_list:") }) else { return nil }
        var count = 0
        for range in line.dropFirst("Cpus_allowed_list:".count).split(separator: ",") {
            let bounds = range.split(separator: "-", maxSplits: 1).map { Int($0.trimmed) }
            switch bounds.count {
            case 1:
                guard bounds[0] != nil else { return nil }
                count += 1
            case 2:
                guard let low = bounds[0], let high = bounds[1], low <= high else { return nil }
                count += high - low + 1
            default:
                return nil
            }
        }
        return count > 0 ? count : nil
    }
}
