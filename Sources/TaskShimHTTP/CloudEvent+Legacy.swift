import FoundationEssentials
import TaskShimCore

/// The conversions between Cloud Functions background events and CloudEvents that the Functions
/// Framework conformance tests define (ff-conformance docs/mapping.md, and its vectors where the two
/// disagree: a Realtime Database source is `firebasedatabase.googleapis.com`).
extension CloudEvent {
    /// Legacy event type to CloudEvent type.
    static let legacyTypes: [String: String] = [
        "google.pubsub.topic.publish": "google.cloud.pubsub.topic.v1.messagePublished",
        "providers/cloud.pubsub/eventTypes/topic.publish": "google.cloud.pubsub.topic.v1.messagePublished",
        "google.storage.object.finalize": "google.cloud.storage.object.v1.finalized",
        "google.storage.object.delete": "google.cloud.storage.object.v1.deleted",
        "google.storage.object.archive": "google.cloud.storage.object.v1.archived",
        "google.storage.object.metadataUpdate": "google.cloud.storage.object.v1.metadataUpdated",
        "providers/cloud.firestore/eventTypes/document.write": "google.cloud.firestore.document.v1.written",
        "providers/cloud.firestore/eventTypes/document.create": "google.cloud.firestore.document.v1.created",
        "providers/cloud.firestore/eventTypes/document.update": "google.cloud.firestore.document.v1.updated",
        "providers/cloud.firestore/eventTypes/document.delete": "google.cloud.firestore.document.v1.deleted",
        "providers/firebase.auth/eventTypes/user.create": "google.firebase.auth.user.v1.created",
        "providers/firebase.auth/eventTypes/user.delete": "google.firebase.auth.user.v1.deleted",
        "providers/firebase.remoteConfig/remoteconfig.update": "google.firebase.remoteconfig.remoteConfig.v1.updated",
        "providers/google.firebase.analytics/eventTypes/event.log": "google.firebase.analytics.log.v1.written",
        "providers/google.firebase.database/eventTypes/ref.create": "google.firebase.database.ref.v1.created",
        "providers/google.firebase.database/eventTypes/ref.write": "google.firebase.database.ref.v1.written",
        "providers/google.firebase.database/eventTypes/ref.update": "google.firebase.database.ref.v1.updated",
        "providers/google.firebase.database/eventTypes/ref.delete": "google.firebase.database.ref.v1.deleted",
    ]

    /// CloudEvent type to legacy event type. Pub/Sub has two legacy names; the current one wins.
    static let cloudEventTypes: [String: String] = {
        var reverse: [String: String] = [:]
        for (legacy, modern) in legacyTypes where legacy != "providers/cloud.pubsub/eventTypes/topic.publish" {
            reverse[modern] = legacy
        }
        return reverse
    }()

    /// The service of a legacy event that does not name one, by the prefix of its type.
    static let servicePrefixes: [(String, String)] = [
        ("providers/cloud.firestore/", "firestore.googleapis.com"),
        ("providers/google.firebase.analytics/", "firebaseanalytics.googleapis.com"),
        ("providers/firebase.auth/", "firebaseauth.googleapis.com"),
        ("providers/google.firebase.database/", "firebasedatabase.googleapis.com"),
        ("providers/cloud.pubsub/", "pubsub.googleapis.com"),
        ("providers/cloud.storage/", "storage.googleapis.com"),
    ]

    static let pubSubMessageType = "type.googleapis.com/google.pubsub.v1.PubsubMessage"

    /// Converts a legacy event; throws when its type has no CloudEvent counterpart or it lacks what
    /// the conversion needs.
    public init(legacy event: LegacyEvent) throws(Malformed) {
        guard let type = Self.legacyTypes[event.eventType] else {
            throw Malformed(description: "the legacy event type \(event.eventType) has no CloudEvent equivalent")
        }
        guard let service = event.resource["service"]?.string
            ?? Self.servicePrefixes.first(where: { event.eventType.hasPrefix($0.0) })?.1 else {
            throw Malformed(description: "the legacy event names no service and its type \(event.eventType) implies none")
        }
        guard let name = event.resourceName, !name.isEmpty else {
            throw Malformed(description: "the legacy event has no resource name")
        }
        var source = name
        var subject: String?
        var data = event.data
        switch service {
        case "storage.googleapis.com":
            if let split = name.firstRange(of: "/objects/") {
                source = String(name[..<split.lowerBound])
                let object = name[split.upperBound...]
                subject = "objects/" + (object.split(separator: "#", maxSplits: 1, omittingEmptySubsequences: false).first.map(String.init) ?? "")
            }
        case "pubsub.googleapis.com":
            var message = event.data.object ?? [:]
            message["messageId"] = .string(event.eventID)
            message["publishTime"] = .string(event.timestamp)
            data = .object(["message": .object(message)])
        case "firebasedatabase.googleapis.com":
            guard let domain = event.domain else {
                throw Malformed(description: "the Realtime Database event has no domain, so its location is unknown")
            }
            let location = domain == "firebaseio.com" ? "us-central1" : String(domain.prefix { $0 != "." })
            // projects/_/instances/{instance}/refs/{path}
            if let refs = name.firstRange(of: "/refs/"), let instances = name.firstRange(of: "instances/") {
                let instance = name[instances.upperBound..<refs.lowerBound]
                let project = name[..<instances.lowerBound]
                source = "\(project)locations/\(location)/instances/\(instance)"
                subject = "refs/" + name[refs.upperBound...]
            }
        case "firebaseanalytics.googleapis.com":
            // projects/{project}/events/{event}; the app id is in the data.
            if let events = name.firstRange(of: "/events/"), let app = event.data["userDim"]?["appInfo"]?["appId"]?.string {
                source = "\(name[..<events.lowerBound])/apps/\(app)"
                subject = "events/" + name[events.upperBound...]
            }
        case "firebaseauth.googleapis.com":
            if let uid = event.data["uid"]?.string { subject = "users/\(uid)" }
            data = Self.renamingMetadata(data, ["createdAt": "createTime", "lastSignedInAt": "lastSignInTime"])
        case "firestore.googleapis.com":
            if let documents = name.firstRange(of: "/documents/") {
                source = String(name[..<documents.lowerBound])
                subject = "documents/" + name[documents.upperBound...]
            }
        default:
            break
        }
        var attributes: Attributes = [
            "specversion": "1.0", "id": event.eventID, "type": type, "source": "//\(service)/\(source)",
            "time": event.timestamp, "datacontenttype": "application/json",
        ]
        if let subject { attributes["subject"] = subject }
        self.init(attributes: attributes, data: data)
    }

    /// The event for a handler with the legacy `event` signature; throws when its type has no legacy
    /// counterpart.
    public func legacy() throws(Malformed) -> LegacyEvent {
        guard let eventType = Self.cloudEventTypes[type] else {
            throw Malformed(description: "the CloudEvent type \(type) has no legacy event equivalent")
        }
        // source is //{service}/{path}
        let trimmed = source.hasPrefix("//") ? source.dropFirst(2) : Substring(source)
        let service = String(trimmed.prefix { $0 != "/" })
        let path = String(trimmed.dropFirst(service.count + 1))
        let subject = attributes["subject"]
        let joined = subject.map { "\(path)/\($0)" } ?? path
        var resource = JSONValue.string(joined)
        var data = dataValue ?? .null
        switch service {
        case "pubsub.googleapis.com":
            resource = .object(["service": .string(service), "name": .string(path), "type": .string(Self.pubSubMessageType)])
            var message = data["message"]?.object ?? [:]
            for key in ["messageId", "message_id", "publishTime", "publish_time"] { message[key] = nil }
            if message["@type"] == nil { message["@type"] = .string(Self.pubSubMessageType) }
            data = .object(message)
        case "storage.googleapis.com":
            resource = .object(["service": .string(service), "name": .string(joined),
                                "type": .string(data["kind"]?.string ?? "storage#object")])
        case "firebasedatabase.googleapis.com":
            // projects/_/locations/{location}/instances/{instance} + refs/{path}: the location goes.
            if let locations = path.firstRange(of: "locations/"), let instances = path.firstRange(of: "/instances/") {
                let withoutLocation = String(path[..<locations.lowerBound]) + path[path.index(after: instances.lowerBound)...]
                resource = .string(subject.map { "\(withoutLocation)/\($0)" } ?? withoutLocation)
            }
        case "firebaseauth.googleapis.com":
            resource = .string(path)
            data = Self.renamingMetadata(data, ["createTime": "createdAt", "lastSignInTime": "lastSignedInAt"])
        case "firebaseanalytics.googleapis.com":
            // projects/{project}/apps/{app} + events/{event}: the app goes.
            if let apps = path.firstRange(of: "/apps/") {
                let project = String(path[..<apps.lowerBound])
                resource = .string(subject.map { "\(project)/\($0)" } ?? project)
            }
        default:
            break
        }
        return LegacyEvent(eventID: id, timestamp: time ?? "", eventType: eventType, resource: resource, data: data)
    }

    private static func renamingMetadata(_ data: JSONValue, _ names: [String: String]) -> JSONValue {
        guard var object = data.object, var metadata = object["metadata"]?.object else { return data }
        for (from, to) in names {
            if let value = metadata.removeValue(forKey: from) { metadata[to] = value }
        }
        object["metadata"] = .object(metadata)
        return .object(object)
    }
}
