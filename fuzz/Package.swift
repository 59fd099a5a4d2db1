// swift-tools-version:6.1
import Foundation
import PackageDescription

// libFuzzer targets for Carousel, kept out of the root package so `swift build` and `swift test`
// never see them. Build and run with `scripts/fuzz`; see README.md here.
//
// A path dependency's identity is its directory's name, which differs between clones
// (`carousel`, `main`, a worktree…), so the manifest reads it instead of spelling it.
let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
let carousel = root.lastPathComponent

let package = Package(
    name: "CarouselFuzz",
    platforms: [.macOS(.v14)],
    dependencies: [.package(path: root.path)],
    targets: [
        .target(name: "CFuzzer"),
        .target(name: "FuzzSupport", dependencies: ["CFuzzer"]),
        .executableTarget(
            name: "FuzzDecode",
            dependencies: ["FuzzSupport", .product(name: "DNSWire", package: carousel)]
        ),
        .executableTarget(
            name: "FuzzRespond",
            dependencies: [
                "FuzzSupport",
                .product(name: "DNSWire", package: carousel),
                .product(name: "DNSZone", package: carousel),
                .product(name: "ZoneFiles", package: carousel),
                .product(name: "Responder", package: carousel),
                .product(name: "Balancer", package: carousel),
                .product(name: "Health", package: carousel),
                .product(name: "DNSSEC", package: carousel),
            ]
        ),
        .executableTarget(
            name: "FuzzTransfer",
            dependencies: [
                "FuzzSupport",
                .product(name: "DNSWire", package: carousel),
                .product(name: "DNSZone", package: carousel),
                .product(name: "Health", package: carousel),
                .product(name: "Responder", package: carousel),
                .product(name: "Transfer", package: carousel),
            ]
        ),
    ]
)
