/// How to sign a request with AWS Signature Version 4 (libcurl's `CURLOPT_AWS_SIGV4` does the signing).
public struct AWSSignature: Sendable {
    public var region: String
    /// The signing name of the service, e.g. `secretsmanager`.
    public var service: String
    public var accessKeyID: String
    public var secretAccessKey: String

    public init(region: String, service: String, accessKeyID: String, secretAccessKey: String) {
        self.region = region
        self.service = service
        self.accessKeyID = accessKeyID
        self.secretAccessKey = secretAccessKey
    }

    /// libcurl's provider string: `aws:amz:REGION:SERVICE`.
    var curlProvider: String { "aws:amz:\(region):\(service)" }
}
