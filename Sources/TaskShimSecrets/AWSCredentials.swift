import FoundationEssentials
import TaskShimCore

/// A set of AWS credentials and where they came from.
struct AWSCredentials: Expiring {
    var accessKeyID: String
    var secretAccessKey: String
    var sessionToken: String?
    var expiration: Date?
    /// The source, for messages: "the environment", "web identity", ...
    var source: String

    /// Credentials in the JSON the container endpoint and instance metadata serve
    /// (`AccessKeyId`, `SecretAccessKey`, `Token`, `Expiration`).
    init?(json: Data, source: String) {
        guard let object = JSONValue.parse(json)?.object, let key = object["AccessKeyId"]?.string,
              let secret = object["SecretAccessKey"]?.string else { return nil }
        self.init(accessKeyID: key, secretAccessKey: secret, sessionToken: object["Token"]?.string,
                  expiration: object["Expiration"]?.string.flatMap(Timestamp.parse), source: source)
    }

    init(accessKeyID: String, secretAccessKey: String, sessionToken: String?, expiration: Date? = nil, source: String) {
        self.accessKeyID = accessKeyID
        self.secretAccessKey = secretAccessKey
        self.sessionToken = sessionToken
        self.expiration = expiration
        self.source = source
    }
}
