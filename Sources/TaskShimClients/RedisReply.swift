import FoundationEssentials
import TaskShimCore

/// A Redis reply (RESP2), as hiredis's reader parsed it. Error replies are not values: the connection
/// throws them, classified (``RedisConnection/classify(_:peer:)``).
public enum RedisReply: Sendable, Equatable {
    case status(String)
    case integer(Int64)
    case bulk([UInt8])
    case array([RedisReply])
    case null

    /// A status or bulk reply as text.
    public var string: String? {
        switch self {
        case .status(let text): text
        case .bulk(let bytes): String(decoding: bytes, as: UTF8.self)
        default: nil
        }
    }

    public var integer: Int64? {
        if case .integer(let value) = self { return value }
        return nil
    }

    public var array: [RedisReply]? {
        if case .array(let values) = self { return values }
        return nil
    }
}
