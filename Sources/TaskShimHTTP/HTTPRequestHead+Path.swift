import NIOHTTP1

extension HTTPRequestHead {
    /// The request target without its query.
    var path: String {
        uri.utf8.firstIndex(of: UInt8(ascii: "?")).map { String(uri[..<$0]) } ?? uri
    }
}
