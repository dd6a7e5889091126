import FoundationEssentials
import TaskShimCore

extension HTTPResponse {
    /// The wait a `Retry-After` header asks for (RFC 9110 10.2.3): a number of seconds, or an
    /// HTTP-date (`Wed, 21 Oct 2015 07:28:00 GMT`) measured from `now`. Nil when absent or unreadable;
    /// never negative.
    public func retryAfter(now: Date = Date()) -> Duration? {
        guard let value = header("Retry-After")?.trimmed, !value.isEmpty else { return nil }
        if let seconds = Int(value) { return seconds >= 0 ? .seconds(seconds) : nil }
        guard let date = Self.httpDate(value) else { return nil }
        return .milliseconds(Int64(max(0, date.timeIntervalSince(now)) * 1000))
    }

    private static let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]

    /// IMF-fixdate, the form servers send: `Sun, 06 Nov 1994 08:49:37 GMT`.
    static func httpDate(_ text: String) -> Date? {
        let parts = text.split(separator: " ")
        guard parts.count == 6, parts[5] == "GMT", let day = Int(parts[1]), let month = months.firstIndex(of: String(parts[2])),
              let year = Int(parts[3]) else { return nil }
        let clock = parts[4].split(separator: ":").compactMap { Int($0) }
        guard clock.count == 3 else { return nil }
        func pad(_ value: Int, _ width: Int) -> String {
            let digits = "\(value)"
            return String(repeating: "0", count: max(0, width - digits.count)) + digits
        }
        let stamp = "\(pad(year, 4))-\(pad(month + 1, 2))-\(pad(day, 2))T\(pad(clock[0], 2)):\(pad(clock[1], 2)):\(pad(clock[2], 2))Z"
        return Timestamp.parse(stamp)
    }
}
