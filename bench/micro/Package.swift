// swift-tools-version: 6.1
// Micro-benchmarks of Carousel's query path (decode, lookup, respond) with allocation counts.
// A package of its own so that the main package's build and CI never compile ordo-one/benchmark.
// Run from the repository root: swift package --package-path bench/micro benchmark
import Foundation
import PackageDescription

// A path dependency is named after its directory, which is whatever the clone is called.
let carousel = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../..")
    .standardizedFileURL.lastPathComponent.lowercased()

let package = Package(
    name: "CarouselMicroBenchmarks",
    platforms: [.macOS(.v14)],
    dependencies: [
        .package(path: "../.."),
        .package(url: "https://github.com/ordo-one/benchmark", from: "1.38.1", traits: ["MallocInterposer"]),
    ],
    targets: [
        .executableTarget(
            name: "QueryPath",
            dependencies: [
                .product(name: "Benchmark", package: "benchmark"),
                .product(name: "DNSWire", package: carousel),
                .product(name: "DNSZone", package: carousel),
                .product(name: "ZoneFiles", package: carousel),
                .product(name: "Health", package: carousel),
                .product(name: "Balancer", package: carousel),
                .product(name: "Responder", package: carousel),
                .product(name: "DNSSEC", package: carousel),
            ],
            path: "Benchmarks/QueryPath",
            plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]
        )
    ]
)
