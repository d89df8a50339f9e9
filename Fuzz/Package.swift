// swift-tools-version:6.2
import PackageDescription

// libFuzzer targets for q2api's event-stream decoder. Built and run by `scripts/fuzz` (see README.md), never by
// `swift build` at the root: they need `--sanitize=fuzzer`, and libFuzzer supplies `main`.
//
// `Sources/EventStream` is a symbolic link to the root package's `Sources/EventStream`: the module is compiled here
// from the same files, instrumented, and its `package` declarations are visible to the fuzz target because both
// modules belong to this package.
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
    ]
)
