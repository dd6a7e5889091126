import COpenSSL
import FoundationEssentials
import TaskShimCore

/// RSASSA-PKCS1-v1_5 with SHA-256 (JWT's `RS256`) from the system's libcrypto, opened on first use.
public enum RSASignature {
    /// The signature of `message` with the PEM private key `pem` (PKCS#8 or PKCS#1, unencrypted).
    /// The key is parsed for this call and freed after it; nothing of it is kept.
    public static func sha256(privateKeyPEM pem: String, message: Data) throws(TaskShimError) -> Data {
        do {
            try NativeLibrary.crypto.require(for: "Signing (RS256)")
        } catch {
            throw .wrapping(error)
        }
        ERR_clear_error()
        let bytes = Array(pem.utf8)
        let key: OpaquePointer? = bytes.withUnsafeBufferPointer { buffer in
            guard let bio = BIO_new_mem_buf(buffer.baseAddress, Int32(buffer.count)) else { return nil }
            defer { BIO_free(bio) }
            // A password callback that gives none: an encrypted key fails instead of OpenSSL prompting on a terminal.
            return PEM_read_bio_PrivateKey(bio, nil, { _, _, _, _ in 0 }, nil)
        }
        guard let key else {
            throw .configuration("The private key is not a PEM private key libcrypto can read (\(lastError())).",
                                 hint: "Use the key file as the cloud console wrote it, unencrypted.")
        }
        defer { EVP_PKEY_free(key) }
        guard let context = EVP_MD_CTX_new() else { throw TaskShimError(.software, "libcrypto could not allocate a digest context.") }
        defer { EVP_MD_CTX_free(context) }
        guard EVP_DigestSignInit(context, nil, EVP_sha256(), nil, key) == 1 else {
            throw TaskShimError(.software, "libcrypto could not start an RS256 signature (\(lastError())).")
        }
        var length = 0
        let signature: [UInt8]? = message.withUnsafeBytes { raw in
            let input = raw.baseAddress?.assumingMemoryBound(to: UInt8.self)
            guard EVP_DigestSign(context, nil, &length, input, raw.count) == 1 else { return nil }
            var out = [UInt8](repeating: 0, count: length)
            guard EVP_DigestSign(context, &out, &length, input, raw.count) == 1 else { return nil }
            return Array(out.prefix(length))
        }
        guard let signature else { throw TaskShimError(.software, "libcrypto could not compute an RS256 signature (\(lastError())).") }
        return Data(signature)
    }

    private static func lastError() -> String {
        let code = ERR_get_error()
        guard code != 0 else { return "no detail" }
        var buffer = [CChar](repeating: 0, count: 256)
        ERR_error_string_n(code, &buffer, buffer.count)
        return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}
