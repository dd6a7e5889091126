import FoundationEssentials
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
        /// The message attribute `job_type` (a String attribute): the handler to run, as a queue
        /// worker's job type names it; nil runs the function's own handler.
        public var jobType: String?
        /// The queue's name, the last part of `eventSourceARN`.
        public var queueName: String?
    }

    private static let shapeKeys = [Array("\"detail-type\"".utf8), Array("\"Records\"".utf8)]

    public static func classify(_ payload: Data) -> LambdaEvent {
        // Most events are neither: skip the parse unless a key of the two shapes is there.
        guard payload.first == UInt8(ascii: "{"), shapeKeys.contains(where: payload.containsBytes),
              let event = JSONValue.parse(payload) else { return .direct }
        if event["detail-type"]?.string == "Scheduled Event", event["source"]?.string == "aws.events",
           let raw = event["time"]?.string, let time = Timestamp.parse(raw) {
            return .scheduled(time: time, id: event["id"]?.string ?? raw)
        }
        if let records = event["Records"]?.array, !records.isEmpty,
           records.allSatisfy({ $0["eventSource"]?.string == "aws:sqs" }) {
            return .sqs(records.map { record in
                SQSRecord(messageID: record["messageId"]?.string ?? "",
                          body: Data((record["body"]?.string ?? "").utf8),
                          receiveCount: Int(record["attributes"]?["ApproximateReceiveCount"]?.string ?? "") ?? 1,
                          jobType: record["messageAttributes"]?["job_type"]?["stringValue"]?.string,
                          queueName: record["eventSourceARN"]?.string?.split(separator: ":").last.map(String.init))
            })
        }
        return .direct
    }
}
