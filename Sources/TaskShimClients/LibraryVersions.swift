import CCurl
import CHiredis
import CLibPQ
import COpenSSL
import CSQLite

/// The versions of the C libraries this binary runs with, for `runtime version` and bug reports.
public enum LibraryVersions {
    public static var all: [(name: String, version: String)] {
        let pq = Int(PQlibVersion())
        return [
            ("libpq", "\(pq / 10000).\(pq % 10000)"),
            ("libcurl", String(cString: curl_version()).split(separator: " ").first.map { String($0.dropFirst("libcurl/".count)) } ?? "?"),
            ("openssl", String(cString: OpenSSL_version(Int32(OPENSSL_VERSION_STRING)))),
            ("sqlite", String(cString: sqlite3_libversion())),
            ("hiredis", "\(HIREDIS_MAJOR).\(HIREDIS_MINOR).\(HIREDIS_PATCH)"),
        ]
    }
}
