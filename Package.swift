// swift-tools-version:6.0
import PackageDescription

let package = Package(
    name: "TaskShim",
    products: [
        .library(name: "TaskShim", targets: ["TaskShim"]),
        .executable(name: "runtime", targets: ["runtime"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.6.0"),
    ],
    targets: [
        // C libraries from Debian, one system-library target each (module map + shim header).
        .systemLibrary(name: "CLibPQ", pkgConfig: "libpq", providers: [.apt(["libpq-dev"])]),
        .systemLibrary(name: "CHiredis", pkgConfig: "hiredis", providers: [.apt(["libhiredis-dev"])]),
        .systemLibrary(name: "CCurl", pkgConfig: "libcurl", providers: [.apt(["libcurl4-openssl-dev"])]),
        .systemLibrary(name: "COpenSSL", pkgConfig: "openssl", providers: [.apt(["libssl-dev"])]),
        .systemLibrary(name: "CSQLite", pkgConfig: "sqlite3", providers: [.apt(["libsqlite3-dev"])]),

        .target(
            name: "TaskShimCore",
            dependencies: [.product(name: "Logging", package: "swift-log")]
        ),
        .target(
            name: "TaskShimClients",
            dependencies: ["TaskShimCore", "CLibPQ", "CCurl", "COpenSSL", "CSQLite", "CHiredis",
                           .product(name: "Logging", package: "swift-log")]
        ),
        .target(
            name: "TaskShimLambda",
            dependencies: ["TaskShimCore", "TaskShimClients", .product(name: "Logging", package: "swift-log")]
        ),
        .target(
            name: "SQLTelemetry",
            dependencies: ["TaskShimCore", "TaskShimClients", .product(name: "Logging", package: "swift-log")],
            path: "handlers/SQLTelemetry",
            exclude: ["examples", "README.md"]
        ),
        .target(
            name: "TaskShim",
            dependencies: ["TaskShimCore", "TaskShimClients", "TaskShimLambda", "SQLTelemetry",
                           .product(name: "ArgumentParser", package: "swift-argument-parser"),
                           .product(name: "Logging", package: "swift-log")]
        ),
        .executableTarget(name: "runtime", dependencies: ["TaskShim"]),

        .testTarget(name: "TaskShimCoreTests", dependencies: ["TaskShimCore"]),
        .testTarget(name: "TaskShimClientsTests", dependencies: ["TaskShimClients", "TestSupport"]),
        .testTarget(name: "TaskShimLambdaTests", dependencies: ["TaskShimLambda", "TestSupport"]),
        .testTarget(name: "SQLTelemetryTests", dependencies: ["SQLTelemetry", "TestSupport"]),
        .testTarget(name: "RuntimeTests", dependencies: ["TaskShim", "TaskShimClients", "TestSupport", "runtime"]),
        .target(name: "TestSupport", dependencies: ["TaskShimCore"], path: "Tests/TestSupport"),
    ]
)
