import FoundationEssentials
import TaskShimClients
import TaskShimCore

/// The HTTP calls the secrets providers make: bounded, with TLS verified (`TASKSHIM_CA_FILE` adds a CA),
/// and errors that say which call failed.
enum CloudHTTP {
    /// Sends `request`; a transport failure is temporary (exit 75) and names `what` was called.
    static func send(_ request: HTTPRequest, _ what: String, environment: Environment,
                     connectTimeout: Duration = .seconds(3), requestTimeout: Duration = .seconds(10)) async throws(TaskShimError) -> HTTPResponse {
        do {
            return try await HTTPClient(options: .init(connectTimeout: connectTimeout, requestTimeout: requestTimeout,
                                                       caFile: environment["TASKSHIM_CA_FILE"])).send(request)
        } catch let error as TaskShimError where error.status != .temporaryFailure {
            // A bad URL, a certificate not trusted, an answer too large: not something a retry mends.
            throw TaskShimError(error.status, "\(what): \(error.message)", hint: error.hint)
        } catch {
            throw .temporary("\(what) did not answer: \(error).")
        }
    }

    /// Whether `error` says nothing could be reached at all (no such host, nothing listening, no route,
    /// no connection within the connect timeout), as off the cloud whose metadata service was tried;
    /// a timeout after connecting is a blip on that cloud instead.
    static func isUnreachable(_ error: TaskShimError) -> Bool {
        ["Could not resolve host", "Couldn't resolve host", "Failed to connect", "Couldn't connect", "Connection timed out after"]
            .contains { error.message.contains($0) }
    }

    /// A bearer-token GET to a Google or Azure API, its JSON object when it answers 200, else the error its
    /// `{"error": {codeField: ..., "message": ...}}` body and status make (``failure(_:_:notFound:denied:)``).
    static func bearerGet(_ url: String, token: AccessToken, service: String, codeField: String, purpose: String, environment: Environment,
                          notFound: String, denied: String) async throws(TaskShimError) -> [String: JSONValue] {
        var headers = [("Authorization", "Bearer " + token.token)]
        if let project = token.quotaProject { headers.append(("x-goog-user-project", project)) }
        let response = try await send(HTTPRequest(url: url, headers: headers),
                                      "\(purpose), and \(service)", environment: environment)
        let answer = JSONValue.parse(response.body)?.object
        guard response.status == 200, let answer else {
            let error = answer?["error"]?.object
            let status = response.status
            let what = "\(purpose), and \(service) answered \(status) \(error?[codeField]?.string ?? ""): \(error?["message"]?.string ?? "")"
            throw failure(status, what + (status == 401 || status == 403 ? " (token from \(token.source))" : ""), notFound: notFound, denied: denied)
        }
        return answer
    }

    /// In the message of every 401 ``bearerGet(_:token:service:codeField:purpose:environment:notFound:denied:)`` throws.
    static let unauthorized = " answered 401 "

    /// The error for a secrets service's refusal by HTTP status: 404 is a configuration error (78),
    /// 401 and 403 a refusal (77), 429 and 5xx temporary (75), anything else configuration.
    static func failure(_ status: Int, _ what: String, notFound: String, denied: String) -> TaskShimError {
        switch status {
        case 404: .configuration(what, hint: notFound)
        case 401, 403: TaskShimError(.noPermission, what, hint: denied)
        case 429, 500...: .temporary(what)
        default: .configuration(what)
        }
    }

    /// `application/x-www-form-urlencoded` (and query strings): RFC 3986's unreserved characters kept,
    /// every other byte percent-encoded.
    static func form(_ pairs: [(String, String)]) -> String {
        pairs.map { "\(percentEncoded($0.0))=\(percentEncoded($0.1))" }.joined(separator: "&")
    }

    static func percentEncoded(_ text: String) -> String {
        var out = ""
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
                 UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "~"):
                out.unicodeScalars.append(Unicode.Scalar(byte))
            default:
                let hex = Array("0123456789ABCDEF".utf8)
                out += "%" + String(decoding: [hex[Int(byte >> 4)], hex[Int(byte & 15)]], as: UTF8.self)
            }
        }
        return out
    }

    /// The text of the first `<tag>...</tag>` in an AWS XML answer.
    static func xmlValue(_ tag: String, in text: String) -> String? {
        guard let start = text.firstRange(of: "<\(tag)>"), let end = text[start.upperBound...].firstRange(of: "</\(tag)>") else { return nil }
        return String(text[start.upperBound..<end.lowerBound])
    }
}
