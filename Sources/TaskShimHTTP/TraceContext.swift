import TaskShimCore

/// The trace a request belongs to, from W3C `traceparent` or, failing that, Google's
/// `X-Cloud-Trace-Context`, in the form Cloud Logging joins on: a 32-hex-digit trace id and a
/// 16-hex-digit span id.
struct TraceContext: Equatable {
    var traceID: String
    var spanID: String?

    init(traceID: String, spanID: String?) {
        self.traceID = traceID
        self.spanID = spanID
    }

    /// `traceparent` wins when both are sent and valid.
    init?(traceparent: String?, cloudTraceContext: String?) {
        if let parsed = traceparent.flatMap(Self.parseTraceparent) {
            self = parsed
        } else if let parsed = cloudTraceContext.flatMap(Self.parseCloudTraceContext) {
            self = parsed
        } else {
            return nil
        }
    }

    /// `00-<32 hex trace id>-<16 hex parent id>-<2 hex flags>`; all-zero ids are invalid.
    static func parseTraceparent(_ header: String) -> TraceContext? {
        let parts = header.trimmed.split(separator: "-", omittingEmptySubsequences: false)
        guard parts.count >= 4, parts[0].count == 2, parts[0] != "ff", isHex(parts[0]),
              parts[1].count == 32, isHex(parts[1]), parts[1].contains(where: { $0 != "0" }),
              parts[2].count == 16, isHex(parts[2]), parts[2].contains(where: { $0 != "0" }),
              parts[3].count == 2, isHex(parts[3]) else { return nil }
        return TraceContext(traceID: parts[1].lowercased(), spanID: parts[2].lowercased())
    }

    /// `TRACE_ID/SPAN_ID;o=OPTIONS`, the span id in decimal (converted to 16 hex digits), span and
    /// options optional.
    static func parseCloudTraceContext(_ header: String) -> TraceContext? {
        let beforeOptions = header.trimmed.split(separator: ";", maxSplits: 1, omittingEmptySubsequences: false)[0]
        let parts = beforeOptions.split(separator: "/", maxSplits: 1, omittingEmptySubsequences: false)
        guard parts[0].count == 32, isHex(parts[0]) else { return nil }
        var span: String?
        if parts.count == 2, let decimal = UInt64(parts[1]), decimal != 0 {
            let hex = String(decimal, radix: 16)
            span = String(repeating: "0", count: 16 - hex.count) + hex
        }
        return TraceContext(traceID: parts[0].lowercased(), spanID: span)
    }

    private static func isHex(_ text: Substring) -> Bool {
        text.utf8.allSatisfy { (0x30...0x39).contains($0) || (0x41...0x46).contains($0) || (0x61...0x66).contains($0) }
    }
}
