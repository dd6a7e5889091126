import Foundation
import TaskShimCore

/// The event shapes a scheduled-task runtime meets on Lambda, recognised from the payload.
public enum LambdaEvent: Sendable {
    /// An EventBridge (CloudWatch Events) scheduled event: `time` is the logical time, `id` is the
    /// same on every delivery of that firing.
    case scheduled(time: Date, id: String)
    /// An SQS batch: each record is run on its own, and failures are reported per message.
    case sqs([SQSRecord])
    /// Anything else: a direct invocation, passed to the handler as it is.
    case direct

    public struct SQSRecord: Sendable {
        public var messageID: String
        public var body: Data
        /// `ApproximateReceiveCount`: 1 on the first delivery.
        public var receiveCount: Int
    }

    public static func classify(_ payload: Data) -> LambdaEvent {
        guard payload.first == UInt8(ascii: "{"),
              let object = try? JSONSerialization.jsonObject(with: payload) as? [String: Any] else { return .direct }
        if object["detail-type"] as? String == "Scheduled Event", object["source"] as? String == "aws.events",
           let raw = object["time"] as? String, let time = Timestamp.parse(raw) {
            return .scheduled(time: time, id: object["id"] as? String ?? raw)
        }
        if let records = object["Records"] as? [[String: Any]], !records.isEmpty,
           records.allSatisfy({ $0["eventSource"] as? String == "aws:sqs" }) {
            return .sqs(records.map { record in
                let attributes = record["attributes"] as? [String: Any]
                return SQSRecord(messageID: record["messageId"] as? String ?? "",
                                 body: Data((record["body"] as? String ?? "").utf8),
                                 receiveCount: Int(attributes?["ApproximateReceiveCount"] as? String ?? "") ?? 1)
            })
        }
        return .direct
    }
}
