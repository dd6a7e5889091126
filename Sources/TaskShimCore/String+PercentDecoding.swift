extension String {
    /// `%21` → `!`: `%XX` escapes decoded (URL passwords, CloudEvents header values); anything else,
    /// including a `%` not followed by two hex digits, kept as it is.
    public var percentDecoded: String {
        // Most values have no escape: one pass over the contiguous bytes (`utf8.contains` walks the
        // string's generic index path, a cost every CloudEvent header paid).
        var copy = self
        guard copy.withUTF8({ $0.contains(UInt8(ascii: "%")) }) else { return self }
        let input = Array(utf8)
        var bytes: [UInt8] = []
        bytes.reserveCapacity(input.count)
        var index = 0
        while index < input.count {
            if input[index] == UInt8(ascii: "%"), index + 2 < input.count,
               let high = Self.hexValue(input[index + 1]), let low = Self.hexValue(input[index + 2]) {
                bytes.append(high << 4 | low)
                index += 3
            } else {
                bytes.append(input[index])
                index += 1
            }
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    private static func hexValue(_ byte: UInt8) -> UInt8? {
        switch byte {
        case 0x30...0x39: byte - 0x30
        case 0x41...0x46: byte - 0x41 + 10
        case 0x61...0x66: byte - 0x61 + 10
        default: nil
        }
    }
}
