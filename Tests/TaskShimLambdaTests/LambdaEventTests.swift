import Foundation
import Testing
@testable import TaskShimCore
@testable import TaskShimLambda

struct LambdaEventTests {
    @Test func scheduledEventsCarryTheirLogicalTime() {
        let payload = Data(#"{"version":"0","id":"53dc4d37-cffa-4f76-80c9-8b7d4a4d2eaa","detail-type":"Scheduled Event","source":"aws.events","account":"123456789012","time":"2026-11-22T09:00:00Z","region":"us-east-1","resources":["arn:aws:events:us-east-1:123456789012:rule/hourly"],"detail":{}}"#.utf8)
        guard case .scheduled(let time, let id) = LambdaEvent.classify(payload) else {
            Issue.record("not recognised as a scheduled event")
            return
        }
        #expect(time == Timestamp.parse("2026-11-22T09:00:00Z"))
        #expect(id == "53dc4d37-cffa-4f76-80c9-8b7d4a4d2eaa")
    }

    @Test func sqsBatchesAreSplitIntoRecords() {
        let payload = Data(#"{"Records":[{"messageId":"m1","body":"{\"a\":1}","eventSource":"aws:sqs","attributes":{"ApproximateReceiveCount":"3"}},{"messageId":"m2","body":"x","eventSource":"aws:sqs","attributes":{}}]}"#.utf8)
        guard case .sqs(let records) = LambdaEvent.classify(payload) else {
            Issue.record("not recognised as SQS")
            return
        }
        #expect(records.map(\.messageID) == ["m1", "m2"])
        #expect(records[0].body == Data(#"{"a":1}"#.utf8))
        #expect(records.map(\.receiveCount) == [3, 1])
    }

    @Test(arguments: ["", "[1,2]", "not json", #"{"detail-type":"Scheduled Event","source":"custom","time":"2026-11-22T09:00:00Z"}"#,
                      #"{"Records":[{"eventSource":"aws:s3"}]}"#, #"{"Records":[]}"#])
    func everythingElseIsADirectInvocation(_ text: String) {
        guard case .direct = LambdaEvent.classify(Data(text.utf8)) else {
            Issue.record("\(text) should be direct")
            return
        }
    }

    @Test func deadlinesAreEpochMillisecondsOrABudget() {
        let now = Date(timeIntervalSince1970: 1_795_363_200)
        let epoch = LambdaLoop.deadline(1_795_363_230_500, now: now)
        #expect(epoch.date == Date(timeIntervalSince1970: 1_795_363_230.5))
        #expect(!epoch.relative)
        let budget = LambdaLoop.deadline(600_000, now: now)
        #expect(budget.date == now.addingTimeInterval(600))
        #expect(budget.relative)
        #expect(LambdaLoop.deadline(nil, now: now).date == nil)
    }

    @Test func xrayRootIsTheTraceID() {
        #expect(LambdaLoop.xrayRoot("Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1") == "1-5759e988-bd862e3fe1be46a994272793")
        #expect(LambdaLoop.xrayRoot("opaque") == "opaque")
    }

    @Test func errorBodiesNameTheStatus() throws {
        let body = LambdaErrorBody(TaskShimError.temporary("database down", hint: "retry"))
        #expect(body.errorType == "TaskShim.TemporaryFailure")
        let object = try #require(JSONSerialization.jsonObject(with: body.json) as? [String: Any])
        #expect(object["errorMessage"] as? String == "database down retry")
        #expect(object["errorType"] as? String == "TaskShim.TemporaryFailure")
        #expect((object["stackTrace"] as? [Any])?.isEmpty == true)
    }

    @Test func theRuntimeAPIAddressIsHostPortOrAnHTTPURL() throws {
        #expect(try RuntimeAPIClient.parse("127.0.0.1:9001") == ("127.0.0.1", 9001, ""))
        #expect(try RuntimeAPIClient.parse("http://localhost:9000/.rt/") == ("localhost", 9000, "/.rt"))
        #expect(try RuntimeAPIClient.parse("[::1]:9001") == ("::1", 9001, ""))
        #expect(try RuntimeAPIClient.parse("sandbox") == ("sandbox", 80, ""))
        #expect(try RuntimeAPIClient.parse("HTTP://127.0.0.1:9001") == ("127.0.0.1", 9001, ""))
        for bad in ["https://127.0.0.1:9001", "127.0.0.1:0", "127.0.0.1:x", ":9001", "", "::1", "::1:9001"] {
            #expect(throws: TaskShimError.self, "\(bad)") { try RuntimeAPIClient.parse(bad) }
        }
    }
}
