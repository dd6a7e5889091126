import CLibraryLoader
import Foundation
import Testing
@testable import TaskShimClients

struct NativeLibraryTests {
    @Test func everyLibraryLoadsOnThisHost() {
        for library in NativeLibrary.allCases {
            #expect(library.loadError == nil, "\(library): \(library.loadError ?? "")")
            #expect(throws: Never.self) { try library.require(for: "A test") }
        }
        #expect(LibraryVersions.all.allSatisfy { $0.version != LibraryVersions.notInstalled })
    }

    @Test func anAbsentLibraryIsNamedWithTheLoadersReason() {
        let names = ["libtaskshim-absent.so.9", "libtaskshim-absent.so"]
        var error = [CChar](repeating: 0, count: 512)
        let capacity = error.count
        let failed = withCStrings(names) { names in taskshim_library_probe(names, &error, capacity) != nil }
        let text = string(error)
        #expect(failed)
        #expect(text.hasPrefix("libtaskshim-absent.so.9 cannot be loaded ("), "\(text)")
        // The reason is the last name's: the loader tried them all.
        #expect(text.contains("libtaskshim-absent.so: cannot open shared object file"), "\(text)")
    }

    @Test func aPresentLibraryProbesClean() {
        var error = [CChar](repeating: 0, count: 512)
        let capacity = error.count
        let failed = withCStrings(["libsqlite3.so.0"]) { names in taskshim_library_probe(names, &error, capacity) != nil }
        #expect(!failed, "\(string(error))")
    }

    /// The loader itself, on a library of the test's choosing: a function only newer versions have
    /// (`sqlite3_error_offset` is new in SQLite 3.38) is looked up without ending the process.
    @Test func aFunctionOnlyNewerVersionsHaveIsOptional() {
        let name = strdup("libsqlite3.so.0")!
        defer { free(name) }
        var library = taskshim_library()
        library.names.0 = UnsafePointer(name)
        #expect(taskshim_library_load_error(&library) == nil)
        #expect(taskshim_library_optional_symbol(&library, "sqlite3_libversion") != nil)
        #expect(taskshim_library_optional_symbol(&library, "sqlite3_taskshim_absent") == nil)
    }

    @Test func aMissingLibraryHasALoadErrorAndNoFunctions() {
        let name = strdup("libtaskshim-absent.so.9")!
        defer { free(name) }
        var library = taskshim_library()
        library.names.0 = UnsafePointer(name)
        let error = taskshim_library_load_error(&library).map { String(cString: $0) }
        #expect(error?.hasPrefix("libtaskshim-absent.so.9 cannot be loaded (") == true, "\(error ?? "")")
        #expect(taskshim_library_optional_symbol(&library, "anything") == nil)
    }

    private func string(_ buffer: [CChar]) -> String {
        String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}
