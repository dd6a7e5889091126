import COpenSSL
import FoundationEssentials
import TaskShimCore

/// SHA-256 from the system's libcrypto (OpenSSL 3), opened on first use: content digests of files.
public enum SHA256 {
    /// The digest of `bytes` as 64 lowercase hex digits.
    public static func hex(_ bytes: Data) throws -> String {
        try NativeLibrary.crypto.require(for: "Computing a SHA-256 digest")
        guard let context = EVP_MD_CTX_new() else { throw TaskShimError(.software, "libcrypto could not allocate a digest.") }
        defer { EVP_MD_CTX_free(context) }
        var digest = [UInt8](repeating: 0, count: 32)
        var length: UInt32 = 0
        let ok = bytes.withUnsafeBytes { input in
            EVP_DigestInit_ex(context, EVP_sha256(), nil) == 1 && EVP_DigestUpdate(context, input.baseAddress, input.count) == 1
                && EVP_DigestFinal_ex(context, &digest, &length) == 1
        }
        guard ok, length == 32 else { throw TaskShimError(.software, "libcrypto could not compute a SHA-256 digest.") }
        let digits = Array("0123456789abcdef".utf8)
        return String(decoding: digest.flatMap { [digits[Int($0 >> 4)], digits[Int($0 & 0xF)]] }, as: UTF8.self)
    }
}
