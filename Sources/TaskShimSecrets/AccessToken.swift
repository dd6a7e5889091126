import FoundationEssentials

/// An OAuth 2 bearer token (Google or Microsoft Entra) and where it came from.
struct AccessToken: Expiring {
    var token: String
    var expiration: Date?
    /// The source, for messages: "the metadata server", "the service account key ...", ...
    var source: String
    /// The project billed for the calls (`x-goog-user-project`), for Google user credentials.
    var quotaProject: String?
}
