import FoundationEssentials
import NIOHTTP1
import TaskShimCore

/// A message delivered by a Pub/Sub push subscription, wrapped (the default: a JSON envelope with
/// `message` and `subscription`, the data base64-encoded) or unwrapped with metadata (the data as the
/// body, the metadata in `x-goog-pubsub-*` headers). An unwrapped push without metadata is an ordinary
/// request: nothing in it says it came from Pub/Sub.
public struct PubSubPush: Sendable, Equatable {
    public var messageID: String
    public var publishTime: Date?
    public var subscription: String?
    public var orderingKey: String?
    /// Message attributes (wrapped deliveries only: unwrapped ones write them as headers that cannot
    /// be told apart from the others).
    public var attributes: [String: String]
    /// `deliveryAttempt`, present when the subscription has a dead-letter policy.
    public var deliveryAttempt: Int?
    /// The message data, decoded.
    public var data: Data

    /// The delivery in a request, nil when the request is not a Pub/Sub push.
    public static func decode(headers: HTTPHeaders, body: Data) throws(CloudEvent.Malformed) -> PubSubPush? {
        func header(_ name: String) -> String? { headers.first(name: name) }
        if let id = header("x-goog-pubsub-message-id"), !id.isEmpty {
            return PubSubPush(messageID: id, publishTime: header("x-goog-pubsub-publish-time").flatMap(Timestamp.parse),
                              subscription: header("x-goog-pubsub-subscription-name"), orderingKey: header("x-goog-pubsub-ordering-key"),
                              attributes: [:], deliveryAttempt: nil, data: body)
        }
        // Only a JSON object that mentions both keys is worth parsing.
        guard body.first == UInt8(ascii: "{"), body.containsBytes(Array("\"message\"".utf8)),
              body.containsBytes(Array("\"subscription\"".utf8)),
              let envelope = JSONValue.parse(body)?.object,
              let message = envelope["message"]?.object, let subscription = envelope["subscription"]?.string else { return nil }
        guard let id = (message["messageId"] ?? message["message_id"])?.string, !id.isEmpty else {
            throw CloudEvent.Malformed(description: "the Pub/Sub push message has no messageId")
        }
        var data = Data()
        if let encoded = message["data"]?.string {
            guard let decoded = Data(base64Encoded: encoded) else {
                throw CloudEvent.Malformed(description: "the Pub/Sub message data is not base64")
            }
            data = decoded
        }
        var attributes: [String: String] = [:]
        for (key, value) in message["attributes"]?.object ?? [:] { attributes[key] = value.string ?? value.encoded }
        let attempt: Int? = if case .number(let number) = envelope["deliveryAttempt"] { Int(number) } else { nil }
        return PubSubPush(messageID: id, publishTime: (message["publishTime"] ?? message["publish_time"])?.string.flatMap(Timestamp.parse),
                          subscription: subscription, orderingKey: (message["orderingKey"] ?? message["ordering_key"])?.string,
                          attributes: attributes, deliveryAttempt: attempt, data: data)
    }
}
