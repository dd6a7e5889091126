import FoundationEssentials
import TaskShimCore
import TaskShimClients

/// One telemetry record, as the telemetry endpoint takes it.
public struct TelemetryRecord: Sendable, Equatable {
    public var granularity: String
    public var elementName: String
    public var filter: String
    public var stream: String
    public var value: Double
    public var timestamp: Date

    public init(granularity: String = "hourly", elementName: String, filter: String, stream: String, value: Double, timestamp: Date) {
        self.granularity = granularity
        self.elementName = elementName
        self.filter = filter
        self.stream = stream
        self.value = value
        self.timestamp = timestamp
    }

    /// The record as one JSON object, with the endpoint's field names.
    public var json: String {
        var line = JSONLine()
        line.add("granularity", granularity)
        line.add("element-name", elementName)
        line.add("filter", filter)
        line.add("telemetry-stream", stream)
        line.add("value", rawJSON: JSONLine.number(value))
        line.add("timestamp", Timestamp.format(timestamp, fractional: false))
        return line.string
    }
}

/// Maps result columns to record fields, and rows to records.
public struct RecordMapper: Sendable {
    public static let requiredColumns = ["element_name", "timestamp", "filter", "value"]

    let elementIndex: Int
    let timestampIndex: Int
    let filterIndex: Int
    let valueIndex: Int
    let stream: String

    /// Finds the four columns by name (case-insensitive). Throws naming the missing ones.
    public init(columns: [String], stream: String, file: String) throws(TaskShimError) {
        let lower = columns.map { $0.lowercased() }
        var indexes: [Int] = []
        var missing: [String] = []
        for name in Self.requiredColumns {
            if let index = lower.firstIndex(of: name) { indexes.append(index) } else { missing.append(name) }
        }
        guard missing.isEmpty else {
            throw .data("\(file) returns the columns \(columns.joined(separator: ", ")); \(missing.joined(separator: ", ")) \(missing.count == 1 ? "is" : "are") missing.",
                        hint: "The query must return element_name, timestamp, filter and value (use AS to rename).")
        }
        elementIndex = indexes[0]
        timestampIndex = indexes[1]
        filterIndex = indexes[2]
        valueIndex = indexes[3]
        self.stream = stream
    }

    /// The record for a row, or the reason the row cannot become one.
    public func record(from row: SQLRow) -> Result<TelemetryRecord, RowRejection> {
        guard let element = row[elementIndex], !element.isEmpty else { return .failure(.init("element_name is empty")) }
        guard let rawValue = row[valueIndex] else { return .failure(.init("value is NULL")) }
        guard let value = Double(rawValue) ?? Double(rawValue.trimmed), value.isFinite else {
            return .failure(.init("value '\(rawValue.prefix(40))' is not a number"))
        }
        guard let rawTime = row[timestampIndex] else { return .failure(.init("timestamp is NULL")) }
        guard let time = Self.parseTime(rawTime) else {
            return .failure(.init("timestamp '\(rawTime.prefix(40))' is not a date-time"))
        }
        return .success(TelemetryRecord(elementName: element, filter: row[filterIndex] ?? "", stream: stream,
                                        value: value, timestamp: time))
    }

    /// RFC 3339 text (as both databases print timestamps) or seconds since the epoch.
    static func parseTime(_ raw: String) -> Date? {
        if let date = Timestamp.parse(raw) { return date }
        if let seconds = Double(raw), seconds > 0 { return Date(timeIntervalSince1970: seconds) }
        return nil
    }
}

/// Why a row was skipped.
public struct RowRejection: Error, Sendable, Equatable {
    public var reason: String
    public init(_ reason: String) { self.reason = reason }
}
