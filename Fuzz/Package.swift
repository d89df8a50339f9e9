// swift-tools-version:6.2
import PackageDescription

// libFuzzer targets for q2api's event-stream decoder and JSON parser. Built and run by `scripts/fuzz` (see
// README.md), never by `swift build` at the root: they need `--sanitize=fuzzer`, and libFuzzer supplies `main`.
//
// `Sources/EventStream` and `Sources/ProxyModels` are symbolic links to the root package's: each module is compiled
// here from the same files, instrumented, and its `package` declarations are visible to the fuzz targets because
// they all belong to this package.
let package = Package(
    name: "q2api-fuzz",
    dependencies: [
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.0")
    ],
    targets: [
        .target(name: "EventStream", dependencies: [.product(name: "NIOCore", package: "swift-nio")]),
        .executableTarget(
            name: "EventStreamFuzz",
            dependencies: ["EventStream", .product(name: "NIOCore", package: "swift-nio")]
        ),
        .target(name: "ProxyModels"),
        .executableTarget(name: "JSONParserFuzz", dependencies: ["ProxyModels"]),
    ]
)
