import COpenSSL
import FoundationEssentials
import TaskShimCore

/// HMAC-SHA256 from the system's libcrypto (OpenSSL 3), opened on first use.
public enum HMAC {
    /// The 32-byte HMAC-SHA256 of `message` under `key`. Throws a configuration error naming the
    /// package to install when libcrypto is missing.
    public static func sha256(key: Data, message: Data) throws -> Data {
        try NativeLibrary.crypto.require(for: "Signing (HMAC-SHA256)")
        var digest = [UInt8](repeating: 0, count: 64)
        var length: UInt32 = 0
        let ok = key.withUnsafeBytes { keyBytes in
            message.withUnsafeBytes { messageBytes in
                digest.withUnsafeMutableBufferPointer { out in
                    COpenSSL.HMAC(EVP_sha256(), keyBytes.baseAddress, Int32(keyBytes.count),
                                  messageBytes.baseAddress?.assumingMemoryBound(to: UInt8.self), messageBytes.count,
                                  out.baseAddress, &length) != nil
                }
            }
        }
        guard ok, length == 32 else { throw TaskShimError(.software, "libcrypto could not compute an HMAC-SHA256.") }
        return Data(digest.prefix(32))
    }
}
