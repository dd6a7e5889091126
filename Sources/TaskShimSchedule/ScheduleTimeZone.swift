import FoundationEssentials

/// A named time zone read from the system's TZif files (`/usr/share/zoneinfo`, or `TZDIR`): its
/// listed transitions, then its POSIX rule for later dates. `UTC` needs no file.
public struct ScheduleTimeZone: Sendable, Equatable, CustomStringConvertible {
    public let identifier: String
    /// UTC instants (seconds since 1970) where the offset changes, ascending, with the offset after each.
    private let transitions: [Int64]
    private let offsets: [Int]
    /// The offset before the first transition.
    private let initialOffset: Int
    private let rule: PosixTimeZoneRule?

    public static let utc = ScheduleTimeZone(identifier: "UTC", transitions: [], offsets: [], initialOffset: 0, rule: nil)

    private init(identifier: String, transitions: [Int64], offsets: [Int], initialOffset: Int, rule: PosixTimeZoneRule?) {
        self.identifier = identifier
        self.transitions = transitions
        self.offsets = offsets
        self.initialOffset = initialOffset
        self.rule = rule
    }

    public var description: String { identifier }

    /// The zone named `identifier` (`Europe/Berlin`, `America/New_York`, `UTC`).
    public init(named identifier: String, directory: String? = nil) throws(ScheduleError) {
        if ["UTC", "Etc/UTC", "Z", "GMT", "Etc/GMT"].contains(identifier) {
            self = .utc
            return
        }
        guard !identifier.isEmpty, !identifier.hasPrefix("/"), !identifier.split(separator: "/").contains(where: { $0 == ".." || $0 == "." }),
              identifier.allSatisfy({ $0.isLetter || $0.isNumber || "/_+-".contains($0) }) else {
            throw ScheduleError("'\(identifier)' is not a time zone name.", hint: "Use an IANA name such as Europe/Berlin, America/New_York or UTC.")
        }
        let base = directory ?? ProcessInfo.processInfo.environment["TZDIR"] ?? "/usr/share/zoneinfo"
        guard let data = FileManager.default.contents(atPath: base + "/" + identifier) else {
            throw ScheduleError("The time zone \(identifier) is not in \(base).",
                                hint: "Check the name (an IANA name such as Europe/Berlin), or install the tzdata package.")
        }
        guard let parsed = Self.parse(Array(data), identifier: identifier) else {
            throw ScheduleError("\(base)/\(identifier) is not a TZif time zone file.")
        }
        self = parsed
    }

    /// The offset from UTC, in seconds, at `instant` (seconds since 1970).
    public func offset(at instant: Int64) -> Int {
        guard let last = transitions.last else { return rule?.offset(at: instant) ?? initialOffset }
        if instant >= last, let rule { return rule.offset(at: instant) }
        // The last transition at or before `instant`.
        var low = 0, high = transitions.count
        while low < high {
            let middle = (low + high) / 2
            if transitions[middle] <= instant { low = middle + 1 } else { high = middle }
        }
        return low == 0 ? initialOffset : offsets[low - 1]
    }

    /// The instants whose local time is `local` (seconds since 1970 of a wall-clock time read as
    /// UTC): one, two in a repeated hour (earliest first), none in a skipped one.
    public func instants(forLocal local: Int64) -> [Int64] {
        var candidates: Set<Int> = [offset(at: local - 86400), offset(at: local), offset(at: local + 86400)]
        candidates.insert(offset(at: local - 43200))
        candidates.insert(offset(at: local + 43200))
        return candidates.map { local - Int64($0) }.filter { offset(at: $0) == Int(local - $0) }.sorted()
    }

    /// The first instant at or after `instant` where the offset is no longer `offset(at: instant)`'s, within `limit` seconds.
    func nextTransition(after instant: Int64, within limit: Int64) -> Int64? {
        let before = offset(at: instant)
        guard offset(at: instant + limit) != before else { return nil }
        var low = instant, high = instant + limit  // offset(low) == before, offset(high) != before
        while high - low > 1 {
            let middle = low + (high - low) / 2
            if offset(at: middle) == before { low = middle } else { high = middle }
        }
        return high
    }

    static func parse(_ bytes: [UInt8], identifier: String) -> ScheduleTimeZone? {
        func u32(_ at: Int) -> Int? {
            guard at + 4 <= bytes.count else { return nil }
            return Int(bytes[at]) << 24 | Int(bytes[at + 1]) << 16 | Int(bytes[at + 2]) << 8 | Int(bytes[at + 3])
        }
        func i64(_ at: Int) -> Int64 {
            var value: UInt64 = 0
            for i in 0..<8 { value = value << 8 | UInt64(bytes[at + i]) }
            return Int64(bitPattern: value)
        }
        struct Header { var isut, isstd, leap, time, type, chars: Int }
        func header(_ at: Int) -> Header? {
            guard at + 44 <= bytes.count, bytes[at..<at + 4].elementsEqual("TZif".utf8),
                  let isut = u32(at + 20), let isstd = u32(at + 24), let leap = u32(at + 28),
                  let time = u32(at + 32), let type = u32(at + 36), let chars = u32(at + 40), type > 0 else { return nil }
            return Header(isut: isut, isstd: isstd, leap: leap, time: time, type: type, chars: chars)
        }
        guard let first = header(0) else { return nil }
        let version = bytes[4]
        var at = 44
        var h = first
        var timeSize = 4
        if version >= UInt8(ascii: "2") {
            // Skip the 32-bit block; the 64-bit one follows with its own header.
            at += first.time * 5 + first.type * 6 + first.chars + first.leap * 8 + first.isstd + first.isut
            guard let second = header(at) else { return nil }
            h = second
            at += 44
            timeSize = 8
        }
        let typesAt = at + h.time * timeSize + h.time
        guard typesAt + h.type * 6 <= bytes.count else { return nil }
        var times: [Int64] = []
        var indices: [Int] = []
        for i in 0..<h.time {
            times.append(timeSize == 8 ? i64(at + i * 8) : Int64(Int32(truncatingIfNeeded: u32(at + i * 4) ?? 0)))
            indices.append(Int(bytes[at + h.time * timeSize + i]))
        }
        var typeOffsets: [Int] = []
        for i in 0..<h.type {
            typeOffsets.append(Int(Int32(truncatingIfNeeded: u32(typesAt + i * 6) ?? 0)))
        }
        guard indices.allSatisfy({ $0 < typeOffsets.count }) else { return nil }
        var rule: PosixTimeZoneRule?
        if timeSize == 8 {
            let footerAt = typesAt + h.type * 6 + h.chars + h.leap * 12 + h.isstd + h.isut
            if footerAt < bytes.count, bytes[footerAt] == 0x0A, let end = bytes[(footerAt + 1)...].firstIndex(of: 0x0A) {
                rule = PosixTimeZoneRule(String(decoding: bytes[(footerAt + 1)..<end], as: UTF8.self))
            }
        }
        return ScheduleTimeZone(identifier: identifier, transitions: times, offsets: indices.map { typeOffsets[$0] },
                                initialOffset: typeOffsets[0], rule: rule)
    }

    public static func == (a: Self, b: Self) -> Bool { a.identifier == b.identifier }
}
