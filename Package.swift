// swift-tools-version:6.2
import PackageDescription

// Strict settings applied to every target (see shared/STYLE.md §0).
let strictSettings: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("MemberImportVisibility"),
]

let package = Package(
    name: "q2api",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "q2api", targets: ["q2api"]),
        // Light libraries for the Benchmarks/ and Fuzz/ packages, which depend on this one by path.
        .library(name: "EventStream", targets: ["EventStream"]),
        .library(name: "ProxyModels", targets: ["ProxyModels"]),
        .library(name: "Translation", targets: ["Translation"]),
        .library(name: "SSE", targets: ["SSE"]),
        .library(name: "Accounts", targets: ["Accounts"]),
        .library(name: "Usage", targets: ["Usage"]),
    ],
    dependencies: [
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", from: "2.28.0"),
        .package(url: "https://github.com/swift-server/async-http-client.git", from: "1.37.0"),
        .package(url: "https://github.com/jpsim/Yams.git", from: "6.2.0"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.0"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.0"),
        .package(url: "https://github.com/apple/swift-metrics.git", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.4.0"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.0"),
        .package(url: "https://github.com/apple/swift-http-types.git", from: "1.8.0"),
        .package(url: "https://github.com/apple/swift-crypto.git", "3.0.0"..<"5.0.0"),
    ],
    targets: [
        // AWS event-stream framing: pure codec over ByteBuffer, no I/O.
        .target(
            name: "EventStream",
            dependencies: [.product(name: "NIOCore", package: "swift-nio")]
        ),
        // Wire types and the JSON value model shared by every layer.
        .target(name: "ProxyModels"),
        // Neutral conversation model, request repair and mapping, template engine, stream state machines.
        // The dialects' stream encoders write server-sent events straight into the bytes the server sends.
        .target(name: "Translation", dependencies: ["ProxyModels", "SSE"]),
        // Server-sent-event framing into plain bytes.
        .target(name: "SSE"),
        // YAML schema and validation. It compiles the request template (pure Translation code) at load time,
        // so that a bad template is a config error with file and position, like any other key.
        .target(
            name: "ProxyConfig",
            dependencies: [
                "Translation",
                "ProxyModels",
                .product(name: "Yams", package: "Yams"),
                .product(name: "Crypto", package: "swift-crypto"),  // the derived names of plain-string API keys
            ]
        ),
        // Account pool, token state and refresh scheduling.
        .target(
            name: "Accounts",
            dependencies: [
                "ProxyConfig", "ProxyModels",
                .product(name: "Crypto", package: "swift-crypto"),  // refresh-token fingerprints in the state files
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // `q2api import`: credentials already on the machine (Kiro IDE, Amazon Q / Kiro CLI, AWS SSO cache),
        // validated by a refresh and saved as run-time accounts. SQLite is read through the system's library,
        // loaded at run time (dlopen), so no build needs it.
        .target(
            name: "CredentialImport",
            dependencies: [
                "Accounts", "ProxyConfig", "ProxyModels",
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // Usage per API key, account and model by hour: counted in memory, appended to the state directory.
        .target(
            name: "Usage",
            dependencies: [
                "Accounts", "ProxyConfig", "ProxyModels",
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // Amazon Q and OIDC clients over AsyncHTTPClient.
        .target(
            name: "Upstream",
            dependencies: [
                "EventStream",
                "ProxyModels",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // The Hummingbird application: controllers, middleware, error rendering, service wiring.
        .target(
            name: "ProxyServer",
            dependencies: [
                "ProxyModels", "Translation", "ProxyConfig", "Accounts", "Upstream", "Usage", "CredentialImport",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ],
            // Served from the string literals scripts/embed-assets writes: OpenAPIDocument+Text.swift, ConsolePage+Text.swift.
            exclude: ["OpenAPI/openapi.yaml", "Console/Assets"]
        ),
        // A faithful Amazon Q + OIDC stand-in for tests, demos and benchmarks.
        .target(
            name: "QSimulator",
            dependencies: [
                "EventStream", "ProxyModels",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
            ]
        ),
        .executableTarget(
            name: "q2api",
            dependencies: [
                "ProxyServer", "QSimulator", "ProxyConfig", "Translation", "ProxyModels", "Accounts", "Upstream", "Usage", "CredentialImport",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ]
        ),
        .testTarget(
            name: "EventStreamTests",
            dependencies: ["EventStream", .product(name: "NIOCore", package: "swift-nio")],
            resources: [.copy("Samples")]
        ),
        .testTarget(name: "TranslationTests", dependencies: ["Translation", "ProxyModels"], exclude: ["Golden"]),
        .testTarget(name: "SSETests", dependencies: ["SSE"]),
        .testTarget(name: "ProxyConfigTests", dependencies: ["ProxyConfig", "ProxyModels"]),
        .testTarget(name: "AccountsTests", dependencies: ["Accounts", "ProxyConfig"]),
        .testTarget(name: "UsageTests", dependencies: ["Usage", "ProxyConfig"]),
        .testTarget(
            name: "CredentialImportTests",
            dependencies: ["CredentialImport", "Accounts", "ProxyConfig", .product(name: "Logging", package: "swift-log")]
        ),
        .testTarget(
            name: "UpstreamTests",
            dependencies: [
                "Upstream", "EventStream", "ProxyModels",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
            ]
        ),
        .testTarget(
            name: "QSimulatorTests",
            dependencies: [
                "QSimulator", "EventStream", "ProxyModels", "Upstream",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
            ]
        ),
        .testTarget(
            name: "ProxyServerTests",
            dependencies: [
                "ProxyServer", "QSimulator", "ProxyConfig", "ProxyModels", "Translation", "CredentialImport", "Accounts", "Upstream",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Yams", package: "Yams"),  // OpenAPIDocumentTests parses openapi.yaml
            ]
        ),
    ]
)

for target in package.targets {
    target.swiftSettings = (target.swiftSettings ?? []) + strictSettings
}
