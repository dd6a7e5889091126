// swift-tools-version:6.0
import PackageDescription

let package = Package(
    name: "TaskShim",
    products: [
        .library(name: "TaskShim", targets: ["TaskShim"]),
        .executable(name: "runtime", targets: ["runtime"]),
        .executable(name: "bootstrap", targets: ["bootstrap"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.6.0"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.81.0"),
        .package(url: "https://github.com/apple/swift-nio-http2", from: "1.46.0"),
    ],
    targets: [
        // C libraries from Debian: headers at build time, the library itself opened on first use
        // (CLibraryLoader), so a run loads only what it calls. apt: libpq-dev libcurl4-openssl-dev
        // libssl-dev libsqlite3-dev libhiredis-dev zlib1g-dev.
        .target(name: "CLibraryLoader"),
        .target(name: "CLibPQ", dependencies: ["CLibraryLoader"]),
        .target(name: "CHiredis", dependencies: ["CLibraryLoader"]),
        .target(name: "CCurl", dependencies: ["CLibraryLoader"]),
        .target(name: "COpenSSL", dependencies: ["CLibraryLoader"]),
        .target(name: "CSQLite", dependencies: ["CLibraryLoader"]),
        .target(name: "CZlib", dependencies: ["CLibraryLoader"]),

        .target(
            name: "TaskShimCore",
            dependencies: [.product(name: "Logging", package: "swift-log")]
        ),
        .target(
            name: "TaskShimClients",
            dependencies: ["TaskShimCore", "CLibraryLoader", "CLibPQ", "CCurl", "COpenSSL", "CSQLite", "CHiredis", "CZlib",
                           .product(name: "Logging", package: "swift-log")]
        ),
        .target(
            name: "TaskShimAudit",
            dependencies: ["TaskShimCore", "TaskShimClients", .product(name: "Logging", package: "swift-log")]
        ),
        .target(
            name: "TaskShimSecrets",
            dependencies: ["TaskShimCore", "TaskShimClients", .product(name: "Logging", package: "swift-log")]
        ),
        .target(name: "TaskShimSchedule", dependencies: ["TaskShimCore"]),
        .target(name: "TaskShimPackager", dependencies: ["TaskShimCore", "TaskShimClients", "TaskShimSchedule"]),
        .target(
            name: "TaskShimQueue",
            dependencies: ["TaskShimCore", "TaskShimClients", .product(name: "Logging", package: "swift-log")]
        ),
        .target(
            name: "TaskShimLambda",
            dependencies: ["TaskShimCore", "TaskShimClients", .product(name: "Logging", package: "swift-log")]
        ),
        .target(
            name: "TaskShimHTTP",
            dependencies: ["TaskShimCore",
                           .product(name: "NIOCore", package: "swift-nio"),
                           .product(name: "NIOPosix", package: "swift-nio"),
                           .product(name: "NIOHTTP1", package: "swift-nio"),
                           .product(name: "NIOHTTP2", package: "swift-nio-http2"),
                           .product(name: "Logging", package: "swift-log")]
        ),
        .target(
            name: "SQLTelemetry",
            dependencies: ["TaskShimCore", "TaskShimClients", .product(name: "Logging", package: "swift-log")],
            path: "handlers/SQLTelemetry",
            exclude: ["examples", "README.md"]
        ),
        .target(
            name: "TaskShim",
            dependencies: ["TaskShimCore", "TaskShimClients", "TaskShimAudit", "TaskShimQueue", "TaskShimSecrets", "TaskShimSchedule", "TaskShimPackager", "TaskShimLambda", "TaskShimHTTP", "SQLTelemetry",
                           .product(name: "ArgumentParser", package: "swift-argument-parser"),
                           .product(name: "Logging", package: "swift-log")]
        ),
        // CGlibcCompat keeps the static binary runnable on glibc 2.34 (Lambda's provided.al2023).
        .executableTarget(name: "runtime", dependencies: ["TaskShim", "CGlibcCompat"]),
        .target(name: "CGlibcCompat"),
        // A Lambda bundle's entry point: static, so it runs in a root holding nothing but the bundle.
        .executableTarget(name: "bootstrap", path: "bootstrap",
                          linkerSettings: [.unsafeFlags(["-static-executable", "-Xlinker", "--gc-sections", "-Xlinker", "-s"])]),

        .testTarget(name: "TaskShimCoreTests", dependencies: ["TaskShimCore", "TestSupport"]),
        .testTarget(name: "TaskShimClientsTests", dependencies: ["TaskShimClients", "TestSupport"]),
        .testTarget(name: "TaskShimAuditTests", dependencies: ["TaskShimAudit", "TaskShimClients", "TestSupport"]),
        .testTarget(name: "TaskShimSecretsTests", dependencies: ["TaskShimSecrets", "TestSupport"]),
        .testTarget(name: "TaskShimScheduleTests", dependencies: ["TaskShimSchedule", "TestSupport"]),
        .testTarget(name: "TaskShimPackagerTests", dependencies: ["TaskShimPackager", "TaskShimClients", "TestSupport"]),
        .testTarget(name: "TaskShimQueueTests", dependencies: ["TaskShimQueue", "TaskShimClients", "TestSupport"]),
        .testTarget(name: "TaskShimLambdaTests", dependencies: ["TaskShimLambda", "TestSupport"]),
        .testTarget(name: "TaskShimHTTPTests", dependencies: ["TaskShimHTTP", "TaskShimClients", "TestSupport"]),
        .testTarget(name: "SQLTelemetryTests", dependencies: ["SQLTelemetry", "TestSupport"]),
        .testTarget(name: "RuntimeTests", dependencies: ["TaskShim", "TaskShimClients", "TaskShimQueue", "TestSupport", "runtime", "embedded-runtime"]),
        // `runtime` as an embedder builds it, with handlers that misbehave in ways built-in ones cannot.
        .executableTarget(name: "embedded-runtime", dependencies: ["TaskShim"], path: "Tests/EmbeddedRuntime"),
        .target(name: "TestSupport", dependencies: ["TaskShimCore", "TaskShimClients", "TaskShimQueue"], path: "Tests/TestSupport"),
    ]
)
