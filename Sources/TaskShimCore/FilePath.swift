#if canImport(Glibc)
import Glibc
#endif

/// The few path operations TaskShim needs, on plain strings.
public enum FilePath {
    /// `directory/name`, or `name` alone when it is absolute.
    public static func join(_ directory: String, _ name: String) -> String {
        if name.hasPrefix("/") || directory.isEmpty { return name }
        return directory.hasSuffix("/") ? directory + name : directory + "/" + name
    }

    /// The directory part of `path`: `jobs` of `jobs/report.sql`, `/` of `/report.sql`, `.` of `report.sql`.
    public static func directory(of path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return "." }
        return slash == path.startIndex ? "/" : String(path[..<slash])
    }

    /// `report` for `jobs/report.sql`.
    public static func stem(_ path: String) -> String {
        let last = path.split(separator: "/", omittingEmptySubsequences: true).last.map(String.init) ?? path
        guard let dot = last.lastIndex(of: "."), dot != last.startIndex else { return last }
        return String(last[..<dot])
    }

    /// `path` with `.` and `..` worked out on the text alone (`a/./b/../c` is `a/c`); nil when a `..`
    /// climbs above where the path starts (or above `/`).
    public static func normalized(_ path: String) -> String? {
        var parts: [Substring] = []
        for part in path.split(separator: "/", omittingEmptySubsequences: true) {
            switch part {
            case ".": continue
            case "..":
                guard parts.popLast() != nil else { return nil }
            default: parts.append(part)
            }
        }
        return (path.hasPrefix("/") ? "/" : "") + parts.joined(separator: "/")
    }

    /// The absolute path of `path` with every symbolic link followed, or nil when it does not exist.
    public static func resolved(_ path: String) -> String? {
        guard let real = realpath(path, nil) else { return nil }
        defer { free(real) }
        return String(cString: real)
    }
}
