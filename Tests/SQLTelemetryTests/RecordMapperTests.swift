import Foundation
import Testing
@testable import SQLTelemetry
@testable import TaskShimClients
@testable import TaskShimCore

struct RecordMapperTests {
    let mapper = try! RecordMapper(columns: ["VALUE", "element_name", "filter", "timestamp", "extra"], stream: "s", file: "f.sql")

    @Test func mapsColumnsByNameInAnyOrder() throws {
        let record = try mapper.record(from: SQLRow(["12.5", "router-1", "cpu", "2026-11-22 08:00:00+00", "x"])).get()
        #expect(record == TelemetryRecord(elementName: "router-1", filter: "cpu", stream: "s", value: 12.5,
                                          timestamp: Timestamp.parse("2026-11-22T08:00:00Z")!))
    }

    @Test func recordJSONHasTheEndpointFieldNames() throws {
        let record = TelemetryRecord(elementName: "e\"1", filter: "f", stream: "s", value: 3, timestamp: Timestamp.parse("2026-11-22T08:00:00Z")!)
        let object = try #require(JSONSerialization.jsonObject(with: Data(record.json.utf8)) as? [String: Any])
        #expect(Set(object.keys) == ["granularity", "element-name", "filter", "telemetry-stream", "value", "timestamp"])
        #expect(object["granularity"] as? String == "hourly")
        #expect(object["element-name"] as? String == "e\"1")
        #expect(object["telemetry-stream"] as? String == "s")
        #expect(object["value"] as? Double == 3)
        #expect(object["timestamp"] as? String == "2026-11-22T08:00:00Z")
    }

    @Test func epochSecondsAreAcceptedAsTimestamps() throws {
        let record = try mapper.record(from: SQLRow(["1", "e", nil, "1795305600", nil])).get()
        #expect(record.timestamp == Date(timeIntervalSince1970: 1_795_305_600))
        #expect(record.filter == "")
    }

    @Test(arguments: [
        (SQLRow(["1", nil, "f", "2026-11-22T08:00:00Z", nil]), "element_name"),
        (SQLRow(["abc", "e", "f", "2026-11-22T08:00:00Z", nil]), "not a number"),
        (SQLRow([nil, "e", "f", "2026-11-22T08:00:00Z", nil]), "NULL"),
        (SQLRow(["NaN", "e", "f", "2026-11-22T08:00:00Z", nil]), "not a number"),
        (SQLRow(["1", "e", "f", "last tuesday", nil]), "date-time"),
    ])
    func badRowsAreRejectedWithAReason(_ row: SQLRow, _ reason: String) {
        guard case .failure(let rejection) = mapper.record(from: row) else {
            Issue.record("expected a rejection")
            return
        }
        #expect(rejection.reason.contains(reason))
    }

    @Test func missingColumnsAreNamed() {
        do {
            _ = try RecordMapper(columns: ["element", "ts", "filter", "value"], stream: "s", file: "hourly.sql")
            Issue.record("expected an error")
        } catch {
            #expect(error.status == .dataError)
            #expect(error.message.contains("hourly.sql"))
            #expect(error.message.contains("element_name, timestamp"))
        }
    }
}
