// swift-tools-version:6.2
import Foundation
import PackageDescription

// Micro-benchmarks for q2api (ordo-one/benchmark). Run them with `scripts/microbench` from the repository root, or
// here with `swift package benchmark`. See BENCHMARKS.md.
//
// The q2api modules declare their API with `package` access, visible only to modules compiled with the same
// `-package-name`. SwiftPM derives that name from the root package's identity: the last component of its directory,
// lower-cased, with anything that cannot be in an identifier replaced by `_` (`main` for a checkout in `…/main`). The
// benchmark target is compiled with that same name, so it reaches the API without anything being made public.
let rootDirectory = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
let rootIdentity = rootDirectory.standardizedFileURL.lastPathComponent.lowercased()
let rootPackageName: String = {
    var name = String(rootIdentity.map { $0.isASCII && ($0.isLetter || $0.isNumber) ? $0 : "_" })
    if let first = name.first, first.isNumber { name = "_" + name }
    return name
}()

let package = Package(
    name: "q2api-benchmarks",
    platforms: [.macOS(.v15)],
    dependencies: [
        .package(path: ".."),
        // The malloc interposer (the default on Swift 6.3) counts allocations without jemalloc; naming the trait
        // leaves the other default trait, RuntimeInterposer (ARC counters on Linux with Swift 6.3), off.
        .package(url: "https://github.com/ordo-one/benchmark", from: "1.38.1", traits: ["MallocInterposer"]),
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.0"),
    ],
    targets: [
        .executableTarget(
            name: "Micro",
            dependencies: [
                .product(name: "Benchmark", package: "benchmark"),
                .product(name: "EventStream", package: rootIdentity),
                .product(name: "ProxyModels", package: rootIdentity),
                .product(name: "Translation", package: rootIdentity),
                .product(name: "SSE", package: rootIdentity),
                .product(name: "Accounts", package: rootIdentity),
                .product(name: "NIOCore", package: "swift-nio"),
            ],
            path: "Benchmarks/Micro",
            // No package name of its own (SwiftPM's would come after, and win over, the one set here).
            packageAccess: false,
            swiftSettings: [.unsafeFlags(["-package-name", rootPackageName])],
            plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]
        )
    ]
)
