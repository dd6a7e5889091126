import Synchronization

/// Generated request ids: random-looking (version 4) UUIDs in lowercase.
public enum RequestID {
    // Foundation's `UUID()` opens, reads and closes /dev/urandom on every call on Linux, and the
    // system generator is a getrandom call per 8 bytes: both show in an HTTP server's profile. Ids
    // here are a counter run through SplitMix64's mixer from two seeds drawn once: unique within the
    // process (the mixer is a bijection), unpredictable enough across processes. Not for secrets.
    private static let seeds = (UInt64.random(in: .min ... .max), UInt64.random(in: .min ... .max))
    private static let counter = Atomic<UInt64>(0)

    /// A new id, without a system call.
    public static func generate() -> String {
        let n = counter.wrappingAdd(1, ordering: .relaxed).newValue
        var high = mix(seeds.0 &+ n &* 0x9E37_79B9_7F4A_7C15)
        var low = mix(seeds.1 &+ n &* 0xD1B5_4A32_D192_ED03)
        high = (high & 0xFFFF_FFFF_FFFF_0FFF) | 0x0000_0000_0000_4000  // version 4
        low = (low & 0x3FFF_FFFF_FFFF_FFFF) | 0x8000_0000_0000_0000    // RFC 4122 variant
        return format(high, low)
    }

    static func mix(_ value: UInt64) -> UInt64 {
        var z = value
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// 8-4-4-4-12 hex digits, written straight into the string's storage.
    static func format(_ high: UInt64, _ low: UInt64) -> String {
        String(unsafeUninitializedCapacity: 36) { text in
            var count = 0
            for index in 0..<32 {
                if index == 8 || index == 12 || index == 16 || index == 20 {
                    text[count] = UInt8(ascii: "-")
                    count += 1
                }
                let word = index < 16 ? high : low
                let digit = UInt8(truncatingIfNeeded: word >> (UInt64(15 - index % 16) * 4)) & 0xF
                // Without a branch (random digits defeat the predictor): 39 more past 9, '0'+10+39 = 'a'.
                text[count] = UInt8(ascii: "0") &+ digit &+ ((9 &- digit) >> 7) &* 39
                count += 1
            }
            return count
        }
    }
}
