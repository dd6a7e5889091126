import FoundationEssentials

/// An HTTP request for ``HTTPClient``.
public struct HTTPRequest: Sendable {
    public var method: String
    public var url: String
    public var headers: [(String, String)]
    public var body: Data
    /// Signs the request for an AWS API (a session token goes in `X-Amz-Security-Token` among the headers).
    public var awsSignature: AWSSignature?

    public init(method: String = "GET", url: String, headers: [(String, String)] = [], body: Data = Data(), awsSignature: AWSSignature? = nil) {
        self.method = method
        self.url = url
        self.headers = headers
        self.body = body
        self.awsSignature = awsSignature
    }
}
