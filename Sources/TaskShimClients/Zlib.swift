import CZlib
import FoundationEssentials
import TaskShimCore

/// Deflate and CRC-32 from the system's zlib, opened on first use (only the packager needs it).
public enum Zlib {
    public enum Format: Sendable {
        /// Bare deflate data, as a zip entry holds it.
        case raw
        /// A gzip member (header with no name and time 0, so the same input gives the same bytes).
        case gzip
    }

    /// `bytes` compressed at `level` (1 fastest ... 9 smallest).
    public static func deflate(_ bytes: Data, format: Format, level: Int = 6) throws -> Data {
        try NativeLibrary.zlib.require(for: "Compressing the bundle")
        var stream = z_stream()
        guard taskshim_deflate_init(&stream, Int32(level), format == .raw ? -15 : 31) == Z_OK else {
            throw TaskShimError(.software, "zlib could not start compressing (level \(level)).")
        }
        defer { deflateEnd(&stream) }
        var output = [UInt8](repeating: 0, count: Int(deflateBound(&stream, UInt(bytes.count))) + 64)
        let status: Int32 = bytes.withUnsafeBytes { input in
            output.withUnsafeMutableBufferPointer { out in
                stream.next_in = UnsafeMutablePointer(mutating: input.bindMemory(to: UInt8.self).baseAddress)
                stream.avail_in = UInt32(input.count)
                stream.next_out = out.baseAddress
                stream.avail_out = UInt32(out.count)
                return CZlib.deflate(&stream, Z_FINISH)
            }
        }
        guard status == Z_STREAM_END else { throw TaskShimError(.software, "zlib could not compress \(bytes.count) bytes (status \(status)).") }
        return Data(output.prefix(Int(stream.total_out)))
    }

    /// The CRC-32 of `bytes` (as zip and gzip use it).
    public static func crc32(_ bytes: Data) throws -> UInt32 {
        try NativeLibrary.zlib.require(for: "Checksumming the bundle")
        var crc: UInt = 0
        bytes.withUnsafeBytes { buffer in
            var rest = UnsafeRawBufferPointer(buffer)
            while !rest.isEmpty {
                let chunk = min(rest.count, 1 << 30)
                crc = CZlib.crc32(crc, rest.bindMemory(to: UInt8.self).baseAddress, UInt32(chunk))
                rest = UnsafeRawBufferPointer(rebasing: rest[chunk...])
            }
        }
        return UInt32(truncatingIfNeeded: crc)
    }
}
