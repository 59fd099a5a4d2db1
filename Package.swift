// swift-tools-version:6.1
import PackageDescription

let package = Package(
    name: "Carousel",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "carousel", targets: ["carousel"]),
        // The query path's modules, for the micro-benchmarks in bench/micro (a separate package).
        .library(name: "DNSWire", targets: ["DNSWire"]),
        .library(name: "DNSZone", targets: ["DNSZone"]),
        .library(name: "CarouselConfig", targets: ["CarouselConfig"]),
        .library(name: "Health", targets: ["Health"]),
        .library(name: "Balancer", targets: ["Balancer"]),
        .library(name: "Responder", targets: ["Responder"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-atomics.git", from: "1.3.0"),
        .package(url: "https://github.com/jpsim/Yams.git", from: "6.2.2"),
        .package(url: "https://github.com/apple/swift-nio-ssl.git", from: "2.37.6"),
        .package(url: "https://github.com/apple/swift-metrics.git", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.4.1"),
        .package(url: "https://github.com/apple/swift-crypto.git", from: "3.12.3"),
    ],
    targets: [
        .systemLibrary(
            name: "CLDNS",
            pkgConfig: "ldns",
            providers: [.apt(["libldns-dev"])]
        ),
        // recvmmsg/sendmmsg and packet-info control messages for the UDP workers (not in Glibc's Swift module).
        .target(name: "CSocket"),
        .target(name: "DNSWire"),
        // epoll and eventfd for Health's tcp probe engine (not in Glibc's Swift module).
        .target(name: "CEpoll"),
        .target(
            name: "DNSZone",
            dependencies: ["DNSWire", "CLDNS", .product(name: "Atomics", package: "swift-atomics")]
        ),
        .target(
            name: "Responder",
            dependencies: [
                "DNSWire", "DNSZone", "Balancer", "Health",
                .product(name: "Atomics", package: "swift-atomics"),
            ]
        ),
        .target(
            name: "CarouselConfig",
            dependencies: ["DNSWire", .product(name: "Yams", package: "Yams")]
        ),
        .target(
            name: "Health",
            dependencies: [
                "CarouselConfig", "DNSWire", "CEpoll",
                .product(name: "Atomics", package: "swift-atomics"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
            ]
        ),
        .target(name: "Balancer", dependencies: ["DNSWire", "DNSZone", "Health", "CarouselConfig"]),
        // Zone transfers, TSIG, NOTIFY messages and zone versions: values and bytes, no I/O.
        .target(
            name: "Transfer",
            dependencies: [
                "DNSWire", "DNSZone", "CarouselConfig", "Balancer", "Health",
                .product(name: "Crypto", package: "swift-crypto"),
            ]
        ),
        .target(
            name: "Server",
            dependencies: [
                "DNSWire", "DNSZone", "Responder", "CarouselConfig", "Balancer", "Health", "Transfer", "CSocket",
                .product(name: "Atomics", package: "swift-atomics"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
            ]
        ),
        .executableTarget(
            name: "carousel",
            dependencies: [
                "Server", "DNSZone", "CarouselConfig", "Balancer",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .testTarget(name: "DNSWireTests", dependencies: ["DNSWire", "CLDNS"]),
        .testTarget(name: "DNSZoneTests", dependencies: ["DNSZone", "DNSWire"]),
        .testTarget(name: "CarouselConfigTests", dependencies: ["CarouselConfig"]),
        .testTarget(name: "BalancerTests", dependencies: ["Balancer", "DNSZone", "DNSWire", "Health", "CarouselConfig"]),
        .testTarget(
            name: "HealthTests",
            dependencies: [
                "Health", "CarouselConfig", "DNSWire",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
            ]
        ),
        .testTarget(name: "TransferTests", dependencies: ["Transfer", "DNSZone", "DNSWire", "CarouselConfig"]),
        .testTarget(name: "ResponderTests", dependencies: ["Responder", "DNSZone", "DNSWire"]),
        .testTarget(
            name: "IntegrationTests",
            dependencies: ["carousel", "DNSWire"],
            resources: [.copy("Fixtures")]
        ),
    ]
)
