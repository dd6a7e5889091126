import FoundationEssentials
import TaskShimCore

/// A Cloud Functions (1st gen) background event, as GCF POSTs it: a JSON object whose context
/// (`eventId`, `timestamp`, `eventType`, `resource`) is either at the root or under `context`, and
/// whose payload is `data`. A handler with the `event` signature gets it as
/// `{"data": ..., "context": {...}}`, the "event, context" pair of the Functions Frameworks.
public struct LegacyEvent: Sendable, Equatable {
    public var eventID: String
    public var timestamp: String
    public var eventType: String
    /// A resource name (string), or an object with `service`, `name` and `type`.
    public var resource: JSONValue
    public var data: JSONValue
    /// Firebase Realtime Database events say where the database lives (`firebaseio.com`,
    /// `europe-west1.firebasedatabase.app`); the CloudEvent source needs it.
    public var domain: String?

    public init(eventID: String, timestamp: String, eventType: String, resource: JSONValue, data: JSONValue, domain: String? = nil) {
        self.eventID = eventID
        self.timestamp = timestamp
        self.eventType = eventType
        self.resource = resource
        self.data = data
        self.domain = domain
    }

    /// The event as the handler sees it.
    public var json: String {
        JSONValue.object([
            "data": data,
            "context": .object([
                "eventId": .string(eventID),
                "timestamp": .string(timestamp),
                "eventType": .string(eventType),
                "resource": resource,
            ]),
        ]).encoded
    }

    /// The resource name, whether the resource is a string or an object.
    public var resourceName: String? {
        resource.string ?? resource["name"]?.string
    }

    /// The event in a request body, or nil when the body is not a legacy event (not a JSON object with
    /// an event type). Throws when it says it is one but lacks an id or a valid timestamp.
    public static func decode(_ body: Data) throws(CloudEvent.Malformed) -> LegacyEvent? {
        guard body.first(where: { $0 != 0x20 && $0 != 0x0A && $0 != 0x0D && $0 != 0x09 }) == UInt8(ascii: "{"),
              let root = JSONValue.parse(body)?.object else { return nil }
        let context = root["context"]?.object ?? [:]
        func field(_ name: String) -> JSONValue? { context[name] ?? root[name] }
        guard let eventType = field("eventType")?.string else { return nil }
        guard let eventID = field("eventId")?.string, !eventID.isEmpty else {
            throw CloudEvent.Malformed(description: "the legacy event has no eventId")
        }
        let timestamp = field("timestamp")?.string ?? ""
        guard Timestamp.parse(timestamp) != nil else {
            throw CloudEvent.Malformed(description: "the legacy event's timestamp \(timestamp) is not an RFC 3339 timestamp")
        }
        return LegacyEvent(eventID: eventID, timestamp: timestamp, eventType: eventType,
                           resource: field("resource") ?? .null, data: root["data"] ?? .null,
                           domain: root["domain"]?.string)
    }
}
