import FoundationEssentials
import NIOCore
import NIOHTTP1

/// A response the server writes: a status, one of two content types, the few other headers it ever
/// sends, and the body. Static strings, so the common answer allocates nothing for its head.
struct Answer: Sendable {
    var status: HTTPResponseStatus
    var contentType: StaticString
    /// `X-Google-Status`, `Retry-After`.
    var headers: [(name: StaticString, value: String)] = []
    var body: Data

    static let json: StaticString = "application/json"
    static let text: StaticString = "text/plain; charset=utf-8"

    /// A text answer: `message` and a line break.
    static func plain(_ status: HTTPResponseStatus, _ message: String, headers: [(name: StaticString, value: String)] = []) -> Answer {
        Answer(status: status, contentType: text, headers: headers, body: Data((message + "\n").utf8))
    }

    /// 200 for an event the handler took.
    static let accepted = plain(.ok, "OK")

    /// The handler's bytes: JSON when they start with `{` or `[`, else text.
    static func output(_ body: Data) -> Answer {
        // Over the contiguous bytes: Data's own iterator copies them out in chunks first.
        let first = body.withUnsafeBytes { $0.first { $0 != 0x20 && $0 != 0x0A && $0 != 0x0D && $0 != 0x09 } }
        let isJSON = first == UInt8(ascii: "{") || first == UInt8(ascii: "[")
        return Answer(status: .ok, contentType: isJSON ? json : text, body: body)
    }

    /// The answer as HTTP/1.x bytes for `request`: `Content-Length` always, `Connection` when the
    /// connection closes (or stays open under HTTP/1.0), no body for HEAD.
    func encode(for request: HTTPRequestHead, keepAlive: Bool, into buffer: inout ByteBuffer) {
        if request.version.major == 1 && request.version.minor == 1 && status == .ok {
            buffer.writeStaticString("HTTP/1.1 200 OK\r\n")
        } else {
            buffer.writeString("HTTP/\(request.version.major).\(request.version.minor) \(status.code) \(status.reasonPhrase)\r\n")
        }
        buffer.writeStaticString("Content-Type: ")
        buffer.writeStaticString(contentType)
        for (name, value) in headers {
            buffer.writeStaticString("\r\n")
            buffer.writeStaticString(name)
            buffer.writeStaticString(": ")
            buffer.writeString(value)
        }
        buffer.writeStaticString("\r\nContent-Length: ")
        buffer.writeString(String(body.count))
        if !keepAlive {
            buffer.writeStaticString("\r\nConnection: close")
        } else if request.version.major == 1 && request.version.minor == 0 {
            buffer.writeStaticString("\r\nConnection: keep-alive")
        }
        buffer.writeStaticString("\r\n\r\n")
        if request.method != .HEAD { buffer.writeBytes(body) }
    }
}
