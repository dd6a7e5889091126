import Foundation

/// The suite's canary secret (`TASKSHIM_TEST_CANARY`, set by scripts/test; a fresh one otherwise).
/// Tests put it where secrets go (tokens, passwords); the output of every process they start is
/// checked for it, and scripts/test fails the run if it shows up anywhere.
public enum Canary {
    public static let value: String = {
        let set = ProcessInfo.processInfo.environment["TASKSHIM_TEST_CANARY"] ?? ""
        return set.isEmpty ? "canary" + String(UInt64.random(in: 1 ... .max), radix: 16) : set
    }()

    /// Notes `output` in `TASKSHIM_TEST_CANARY_LEAKS` when it contains the canary.
    public static func check(_ output: String, from source: String) {
        guard output.contains(value), let path = ProcessInfo.processInfo.environment["TASKSHIM_TEST_CANARY_LEAKS"] else { return }
        let line = Data("\(source): \(output)\n".utf8)
        if !FileManager.default.fileExists(atPath: path) { _ = FileManager.default.createFile(atPath: path, contents: nil) }
        if let handle = FileHandle(forWritingAtPath: path) {
            _ = try? handle.seekToEnd()
            try? handle.write(contentsOf: line)
            try? handle.close()
        }
    }
}
