import CCurl
import CHiredis
import CLibPQ
import COpenSSL
import CSQLite
import CZlib
import CLibraryLoader
import TaskShimCore

/// A C library a client calls. None is loaded when the process starts: each is opened the first time
/// a client needs it, so a run pays only for what it uses (libcurl and libpq each bring some thirty
/// libraries and about 5 ms of loading), and a host without, say, libpq still runs everything else.
public enum NativeLibrary: CaseIterable, Sendable {
    case curl, postgres, sqlite, crypto, ssl, hiredis, zlib

    /// Why the library cannot be loaded, or nil once it is.
    var loadError: String? {
        let error: UnsafePointer<CChar>? = switch self {
        case .curl: taskshim_curl_load_error()
        case .postgres: taskshim_pq_load_error()
        case .sqlite: taskshim_sqlite_load_error()
        case .crypto: taskshim_crypto_load_error()
        case .ssl: taskshim_ssl_load_error()
        case .hiredis: taskshim_hiredis_load_error()
        case .zlib: taskshim_zlib_load_error()
        }
        return error.map { String(cString: $0) }
    }

    /// The packages that provide it: Debian/Ubuntu, then Amazon Linux and other RPM systems.
    var packages: (deb: String, rpm: String) {
        switch self {
        case .curl: ("libcurl4", "libcurl")
        case .postgres: ("libpq5", "libpq")
        case .sqlite: ("libsqlite3-0", "sqlite-libs")
        case .crypto, .ssl: ("libssl3", "openssl-libs")
        case .hiredis: ("libhiredis0.14", "hiredis")
        case .zlib: ("zlib1g", "zlib")
        }
    }

    /// Loads the library, or throws a configuration error saying which package to install.
    /// `purpose` completes "... needs": "An HTTP request", "PostgreSQL".
    func require(for purpose: String) throws {
        guard let error = loadError else { return }
        throw TaskShimError.configuration("\(purpose) needs a C library that is not installed: \(error).",
                                          hint: "Install \(packages.deb) (apt) or \(packages.rpm) (dnf), or bundle the library with the function.")
    }

    /// The sonames the runtime opens on first use, which a bundle carries so that it runs where they are
    /// not installed (zlib is the packager's own).
    public static let bundled = ["libcurl.so.4", "libpq.so.5", "libsqlite3.so.0", "libcrypto.so.3", "libssl.so.3", "libhiredis.so.0.14"]

    /// The file the dynamic loader opens for `soname` on this host, or why none.
    public static func path(of soname: String) -> Result<String, TaskShimError> {
        var buffer = [CChar](repeating: 0, count: 4096)
        let status = taskshim_library_path(soname, &buffer, buffer.count)
        let text = String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        return status == 0 ? .success(text) : .failure(.configuration("\(soname) is not installed here (\(text)).", hint: "Install it to bundle it."))
    }
}
