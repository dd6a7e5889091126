import Foundation
import Testing
import TaskShimCore
import TaskShimPackager
import TestSupport

struct LambdaBundleTests {
    // Each spawns the loader: off Swift's cooperative pool, which other tests' timers need.
    @Test func theLoaderListsWhatADynamicProgramNeedsAndNothingForAStaticOne() async throws {
        let loader = try SharedLibraries.loader(for: .x86_64)
        let needed = try await offPool { try SharedLibraries.needed(by: "/bin/ls", loader: loader) }
        #expect(needed.contains { $0.name == "libc.so.6" && $0.path.hasPrefix("/") })
        #expect(needed.contains { $0.name == "ld-linux-x86-64.so.2" })
        #expect(try await offPool { try SharedLibraries.needed(by: RepositoryPaths.builtExecutable("bootstrap"), loader: loader) }.isEmpty)
    }

    @Test func aBundleHoldsTheLauncherBinaryLoaderAndTheLibrariesOpenedOnFirstUse() async throws {
        let bundle = try await offPool { try LambdaBundle.collect(binary: "/bin/ls", bootstrap: RepositoryPaths.builtExecutable("bootstrap"), files: []) }
        let names = Set(bundle.libraries.map(\.name))
        #expect(names.isSuperset(of: ["ld-linux-x86-64.so.2", "libc.so.6", "libcurl.so.4", "libpq.so.5", "libssl.so.3", "libhiredis.so.0.14"]))
        let entries = try bundle.entries()
        #expect(entries.first { $0.path == "bootstrap" }?.mode == 0o755 && entries.first { $0.path == "lib/ld-linux-x86-64.so.2" }?.mode == 0o755)
        #expect(entries.first { $0.path == "lib/libc.so.6" }?.mode == 0o644)
    }

    @Test func theWrongArchitectureOrANonProgramIsRefused() throws {
        #expect { try LambdaBundle.collect(binary: "/bin/ls", bootstrap: RepositoryPaths.builtExecutable("bootstrap"), files: [], architecture: .arm64) } throws: { error in
            (error as? TaskShimError)?.status == .usage && (error as? TaskShimError)?.message.contains("built for x86_64") == true
        }
        let directory = try TemporaryDirectory()
        let script = try directory.write("runtime", "#!/bin/sh\n")
        #expect { try LambdaBundle.collect(binary: script, bootstrap: RepositoryPaths.builtExecutable("bootstrap"), files: []) } throws: { error in
            (error as? TaskShimError)?.message.contains("not a 64-bit") == true
        }
    }

    @Test func aBundleOverTheUnzippedLimitIsRefusedWithWhatToDo() async throws {
        var limits = LambdaBundle.Limits()
        limits.unzipped = 1000
        let entries = [ArchiveEntry(path: "runtime", contents: Data(count: 1500), mode: 0o755)]
        await #expect { try await LambdaBundle.zip(entries, limits: limits) } throws: { error in
            let error = error as? TaskShimError
            return error?.status == .dataError && error?.message.contains("over Lambda's limit") == true && error?.hint.contains("runtime package image") == true
        }
        #expect(try await LambdaBundle.zip(entries).count > 0)
    }
}
