import FoundationEssentials
import TaskShimClients
import TaskShimCore

/// Writes zip files that are the same bytes for the same entries: sorted by path, one fixed time,
/// Unix modes, deflated (stored when deflate does not help), names in UTF-8. No zip64: an entry or
/// archive past 4 GiB is refused (a Lambda bundle is at most 250 MB).
public enum ZipArchive {
    /// The archive of `entries`, each stamped with `modified` (1980-01-01, zip's first instant, by default).
    /// Level 4 by default: on the release binary it deflates 2.4 times faster than zlib's default 6
    /// for the same size to the megabyte.
    public static func write(_ entries: [ArchiveEntry], modified: Date? = nil, level: Int = 4) async throws -> Data {
        let (time, date) = dosTime(modified)
        var archive = Data()
        var directory = Data()
        let sorted = entries.filter { $0.kind == .file }.sorted { $0.path < $1.path }
        for (entry, (compressed, deflated)) in zip(sorted, try await compress(sorted, level: level)) {
            guard entry.contents.count < UInt32.max, archive.count < UInt32.max else {
                throw TaskShimError.data("\(entry.path) makes the zip larger than 4 GiB, which this writer does not do (no zip64).")
            }
            let name = Data(entry.path.utf8)
            let crc = try Zlib.crc32(entry.contents)
            let offset = UInt32(archive.count)
            // Local file header.
            // The fields both headers share: version needed 2.0 (deflate), UTF-8 names, method, time, CRC, sizes.
            var common = Data()
            for field: UInt16 in [20, 0x0800, deflated ? 8 : 0, time, date] { common.le16(field) }
            for field in [crc, UInt32(compressed.count), UInt32(entry.contents.count)] { common.le32(field) }
            common.le16(UInt16(name.count))
            archive.le32(0x0403_4B50)
            archive.append(common)
            archive.le16(0)  // extra
            archive.append(name)
            archive.append(compressed)
            // Its central directory record.
            directory.le32(0x0201_4B50)
            directory.le16(0x031E)  // made by: Unix, zip 3.0 (so the mode below is read)
            directory.append(common)
            for _ in 0..<4 { directory.le16(0) }  // extra, comment, disk, internal attributes
            directory.le32((UInt32(0o100000) | UInt32(entry.mode)) << 16)  // a regular file with its mode
            directory.le32(offset)
            directory.append(name)
        }
        guard archive.count + directory.count < UInt32.max, sorted.count < UInt16.max else {
            throw TaskShimError.data("The zip would be larger than 4 GiB or hold more than 65,534 files, which this writer does not do (no zip64).")
        }
        let directoryOffset = UInt32(archive.count)
        archive.append(directory)
        archive.le32(0x0605_4B50)
        archive.le16(0)
        archive.le16(0)
        archive.le16(UInt16(sorted.count))
        archive.le16(UInt16(sorted.count))
        archive.le32(UInt32(directory.count))
        archive.le32(directoryOffset)
        archive.le16(0)
        return archive
    }

    /// Each entry deflated, four at a time, largest first (the binary dominates,
    /// so the rest goes alongside it on the other cores); an entry deflate does not shrink is stored.
    private static func compress(_ entries: [ArchiveEntry], level: Int) async throws -> [(Data, Bool)] {
        var results = [(Data, Bool)?](repeating: nil, count: entries.count)
        let order = entries.indices.sorted { entries[$0].contents.count > entries[$1].contents.count }
        try await withThrowingTaskGroup(of: (Int, Data, Bool).self) { group in
            var pending = order[...]
            func start() {
                guard let index = pending.popFirst() else { return }
                let contents = entries[index].contents
                group.addTask {
                    let deflated = try Zlib.deflate(contents, format: .raw, level: level)
                    return deflated.count < contents.count ? (index, deflated, true) : (index, contents, false)
                }
            }
            for _ in 0..<4 { start() }
            while let (index, data, deflated) = try await group.next() {
                results[index] = (data, deflated)
                start()
            }
        }
        return results.map { $0! }
    }

    /// MS-DOS time and date fields (2 s resolution, from 1980) of `instant` in UTC.
    static func dosTime(_ instant: Date?) -> (time: UInt16, date: UInt16) {
        guard let instant, instant.timeIntervalSince1970 >= 315_532_800 else { return (0, 0x21) }  // 1980-01-01 00:00
        let seconds = Int(instant.timeIntervalSince1970)
        let days = seconds / 86400, rest = seconds % 86400
        // Civil date from days since 1970 (Howard Hinnant's algorithm).
        let z = days + 719_468, era = z / 146_097, doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100), mp = (5 * doy + 2) / 153
        let day = doy - (153 * mp + 2) / 5 + 1, month = mp < 10 ? mp + 3 : mp - 9
        let year = min(yoe + era * 400 + (month <= 2 ? 1 : 0), 2107)
        let time = UInt16(rest / 3600) << 11 | UInt16(rest % 3600 / 60) << 5 | UInt16(rest % 60 / 2)
        return (time, UInt16(year - 1980) << 9 | UInt16(month) << 5 | UInt16(day))
    }
}

extension Data {
    mutating func le16(_ value: UInt16) { append(contentsOf: [UInt8(value & 0xFF), UInt8(value >> 8)]) }
    mutating func le32(_ value: UInt32) { for shift in stride(from: 0, to: 32, by: 8) { append(UInt8((value >> UInt32(shift)) & 0xFF)) } }
}
