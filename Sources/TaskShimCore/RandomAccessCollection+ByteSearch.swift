extension RandomAccessCollection where Element == UInt8 {
    /// Whether `needle` occurs in these bytes: a plain scan, for short texts checked often (log lines,
    /// header names, event payloads), where `String.contains` costs a search table per call.
    public func containsBytes(_ needle: [UInt8]) -> Bool {
        firstIndex(ofBytes: needle) != nil
    }

    /// Where `needle` first occurs in these bytes, by the same plain scan.
    public func firstIndex(ofBytes needle: [UInt8]) -> Index? {
        guard let first = needle.first else { return startIndex }
        guard needle.count <= count else { return nil }
        var start = startIndex
        let last = index(endIndex, offsetBy: -needle.count)
        while start <= last {
            if self[start] == first {
                var matched = 1
                var position = index(after: start)
                while matched < needle.count && self[position] == needle[matched] {
                    matched += 1
                    position = index(after: position)
                }
                if matched == needle.count { return start }
            }
            start = index(after: start)
        }
        return nil
    }
}
