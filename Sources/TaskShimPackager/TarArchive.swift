import FoundationEssentials
import TaskShimCore

/// Writes POSIX ustar archives that are the same bytes for the same entries: sorted by path (each
/// directory before what it holds), one fixed time, numeric owners with no names.
public enum TarArchive {
    /// The archive of `entries`, each stamped with `modified` (1970-01-01 by default). The parent
    /// directories of every file are added when missing.
    public static func write(_ entries: [ArchiveEntry], modified: Date? = nil) throws(TaskShimError) -> Data {
        var all = Dictionary(entries.map { ($0.path, $0) }, uniquingKeysWith: { _, last in last })
        for entry in entries {
            var parts = entry.path.split(separator: "/").dropLast()
            while !parts.isEmpty {
                let parent = parts.joined(separator: "/")
                if all[parent] == nil { all[parent] = .directory(parent) }
                parts = parts.dropLast()
            }
        }
        let time = max(0, Int(modified?.timeIntervalSince1970 ?? 0))
        var archive = Data()
        for entry in all.values.sorted(by: { $0.path < $1.path }) {
            archive.append(try header(entry, time: time))
            guard entry.kind == .file else { continue }
            archive.append(entry.contents)
            archive.append(Data(count: (512 - entry.contents.count % 512) % 512))
        }
        archive.append(Data(count: 1024))  // two empty blocks end it
        return archive
    }

    private static func header(_ entry: ArchiveEntry, time: Int) throws(TaskShimError) -> Data {
        let path = entry.kind == .directory ? entry.path + "/" : entry.path
        // Names over 100 bytes go into the 155-byte prefix, split at a slash.
        var name = Array(path.utf8), prefix: [UInt8] = []
        if name.count > 100 {
            guard let split = name.indices.filter({ name[$0] == UInt8(ascii: "/") && $0 <= 155 && name.count - $0 - 1 <= 100 }).last else {
                throw .data("\(entry.path) is too long a path for a tar archive (ustar: 255 bytes, no part over 100).")
            }
            prefix = Array(name[..<split])
            name = Array(name[(split + 1)...])
        }
        var block = [UInt8](repeating: 0, count: 512)
        func put(_ bytes: [UInt8], at offset: Int) { for (index, byte) in bytes.enumerated() { block[offset + index] = byte } }
        func octal(_ value: Int, _ width: Int) -> [UInt8] {
            let digits = String(value, radix: 8)
            return Array((String(repeating: "0", count: max(0, width - 1 - digits.count)) + digits).utf8) + [0]
        }
        put(name, at: 0)
        put(octal(Int(entry.mode), 8), at: 100)
        put(octal(Int(entry.owner), 8), at: 108)
        put(octal(Int(entry.owner), 8), at: 116)
        put(octal(entry.kind == .file ? entry.contents.count : 0, 12), at: 124)
        put(octal(time, 12), at: 136)
        put(Array("        ".utf8), at: 148)  // the checksum counts its own field as spaces
        block[156] = entry.kind == .file ? UInt8(ascii: "0") : UInt8(ascii: "5")
        put(Array("ustar\u{0}00".utf8), at: 257)
        put(prefix, at: 345)
        let checksum = block.reduce(0) { $0 + Int($1) }
        put(Array(String(checksum, radix: 8).leftPadded(6).utf8) + [0, 0x20], at: 148)
        return Data(block)
    }
}

extension String {
    fileprivate func leftPadded(_ width: Int) -> String { String(repeating: "0", count: max(0, width - count)) + self }
}
