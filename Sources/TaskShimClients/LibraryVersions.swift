import CCurl
import CHiredis
import CLibPQ
import COpenSSL
import CSQLite

/// The versions of the C libraries this binary runs with, for `runtime version` and bug reports.
/// Asking loads each one; a library the host lacks is reported as not installed.
public enum LibraryVersions {
    public static var all: [(name: String, version: String)] {
        [
            ("libpq", version(of: .postgres) { let pq = Int(PQlibVersion()); return "\(pq / 10000).\(pq % 10000)" }),
            ("libcurl", version(of: .curl) {
                String(cString: curl_version()).split(separator: " ").first.map { String($0.dropFirst("libcurl/".count)) } ?? "?"
            }),
            ("openssl", version(of: .crypto) { String(cString: OpenSSL_version(Int32(OPENSSL_VERSION_STRING))) }),
            ("sqlite", version(of: .sqlite) { String(cString: sqlite3_libversion()) }),
            ("hiredis", version(of: .hiredis) { "\(HIREDIS_MAJOR).\(HIREDIS_MINOR).\(HIREDIS_PATCH)" }),
        ]
    }

    public static let notInstalled = "not installed"

    private static func version(of library: NativeLibrary, _ read: () -> String) -> String {
        library.loadError == nil ? read() : notInstalled
    }
}
