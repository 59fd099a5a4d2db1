// swift-tools-version:6.1
import PackageDescription

// The module graph points one way (docs/ARCHITECTURE.md draws it): values and the query path at
// the bottom, linking no I/O, TLS or YAML library (scripts/module-graph checks it), then the
// parsers, then the services that do I/O, then the executable.
let nio = "swift-nio"
let package = Package(
    name: "Carousel",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "carousel", targets: ["carousel"]),
        // The query path's modules, for the micro-benchmarks in bench/micro and the fuzzers in
        // fuzz/ (separate packages).
        .library(name: "DNSWire", targets: ["DNSWire"]),
        .library(name: "DNSZone", targets: ["DNSZone"]),
        .library(name: "ZoneFiles", targets: ["ZoneFiles"]),
        .library(name: "Health", targets: ["Health"]),
        .library(name: "Balancer", targets: ["Balancer"]),
        .library(name: "Responder", targets: ["Responder"]),
        .library(name: "DNSSEC", targets: ["DNSSEC"]),
        // The transfer lane, TSIG and the secondary's stream, for the fuzzers.
        .library(name: "Transfer", targets: ["Transfer"]),
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
        // C shims: libldns (the reference zone reader), recvmmsg/sendmmsg and packet info for the
        // UDP workers, epoll and eventfd for the tcp probe engine (none is in Glibc's Swift module).
        .systemLibrary(name: "CLDNS", pkgConfig: "ldns", providers: [.apt(["libldns-dev"])]),
        .target(name: "CSocket"),
        .target(name: "CEpoll"),

        // Values and the query path: no I/O, TLS or YAML.
        .target(name: "DNSWire"),
        .target(name: "DNSZone", dependencies: ["DNSWire", .product(name: "Atomics", package: "swift-atomics")]),
        .target(name: "Health", dependencies: ["DNSWire"]),
        .target(
            name: "Balancer",
            dependencies: ["DNSWire", "DNSZone", "Health", .product(name: "Atomics", package: "swift-atomics")]),
        .target(
            name: "Responder",
            dependencies: [
                "DNSWire", "DNSZone", "Balancer", "Health", .product(name: "Atomics", package: "swift-atomics"),
            ]
        ),
        // Zone transfers, TSIG and NOTIFY as values and bytes: no sockets.
        .target(
            name: "Transfer",
            dependencies: [
                "DNSWire", "DNSZone", "Balancer", "Health", "Responder",
                .product(name: "Crypto", package: "swift-crypto"),
            ]
        ),

        // DNSSEC keys (BIND key files), the signers behind the query path's `RRsetSigner`, DS
        // records: swift-crypto.
        .target(
            name: "DNSSEC",
            dependencies: ["DNSWire", "DNSZone", "Responder", .product(name: "Crypto", package: "swift-crypto")]
        ),

        // Reading files: zone files (native reader, libldns), carousel.yaml.
        .target(name: "ZoneFiles", dependencies: ["DNSWire", "DNSZone", "CLDNS"]),
        .target(
            name: "CarouselConfig",
            dependencies: [
                "DNSWire", "Health", "Balancer", "Transfer", "DNSSEC", .product(name: "Yams", package: "Yams"),
            ]
        ),
        // What a start, a reload and `carousel check` validate: the zone cache and the one validator.
        .target(
            name: "Loading", dependencies: ["DNSWire", "DNSZone", "ZoneFiles", "Balancer", "CarouselConfig", "DNSSEC"]),

        // Services: they own threads and sockets.
        .target(
            name: "Prober",
            dependencies: [
                "Health", "DNSWire", "CEpoll",
                .product(name: "Atomics", package: "swift-atomics"),
                .product(name: "NIOCore", package: nio),
                .product(name: "NIOPosix", package: nio),
                .product(name: "NIOHTTP1", package: nio),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .target(
            name: "Listeners",
            dependencies: [
                "DNSWire", "Health", "Balancer", "Responder", "Transfer", "CSocket",
                .product(name: "Atomics", package: "swift-atomics"),
                .product(name: "NIOCore", package: nio),
                .product(name: "NIOPosix", package: nio),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "NIOTLS", package: nio),
                .product(name: "NIOConcurrencyHelpers", package: nio),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
            ]
        ),
        .target(
            name: "TransferService",
            dependencies: [
                "DNSWire", "DNSZone", "ZoneFiles", "Balancer", "Health", "Responder", "Transfer", "Listeners",
                .product(name: "NIOCore", package: nio),
                .product(name: "NIOConcurrencyHelpers", package: nio),
                .product(name: "NIOPosix", package: nio),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "NIOTLS", package: nio),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
            ]
        ),
        .target(
            name: "Runtime",
            dependencies: [
                "DNSWire", "DNSZone", "Balancer", "Health", "Responder", "Transfer", "CarouselConfig", "Loading",
                "Prober", "Listeners", "TransferService", "DNSSEC", "ZoneFiles",
                .product(name: "NIOCore", package: nio),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "NIOConcurrencyHelpers", package: nio),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
            ]
        ),
        .target(
            name: "Admin",
            dependencies: [
                "DNSWire", "DNSZone", "Balancer", "Health", "Responder", "Prober", "Listeners", "TransferService",
                "Runtime",
                .product(name: "NIOCore", package: nio),
                .product(name: "NIOPosix", package: nio),
                .product(name: "NIOHTTP1", package: nio),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Prometheus", package: "swift-prometheus"),
            ]
        ),
        .target(
            name: "LoadAgent",
            dependencies: [
                "Health", "Prober",
                .product(name: "NIOCore", package: nio),
                .product(name: "NIOPosix", package: nio),
                .product(name: "NIOConcurrencyHelpers", package: nio),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .executableTarget(
            name: "carousel",
            dependencies: [
                "DNSWire", "CarouselConfig", "Loading", "Balancer", "Runtime", "Admin", "LoadAgent", "DNSSEC",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),

        // One test target per module, named after it; IntegrationTests drives the whole binary.
        .testTarget(name: "DNSWireTests", dependencies: ["DNSWire", "CLDNS"]),
        .testTarget(name: "DNSZoneTests", dependencies: ["DNSZone", "DNSWire"]),
        .testTarget(name: "ZoneFilesTests", dependencies: ["ZoneFiles", "DNSZone", "DNSWire"]),
        .testTarget(name: "HealthTests", dependencies: ["Health", "DNSWire"]),
        .testTarget(
            name: "LoadingTests", dependencies: ["Loading", "CarouselConfig", "ZoneFiles", "DNSZone", "DNSWire"]),
        .testTarget(
            name: "CarouselConfigTests",
            dependencies: ["CarouselConfig", "DNSWire", "Health", "Balancer", "Transfer", "DNSSEC"]),
        .testTarget(name: "BalancerTests", dependencies: ["Balancer", "DNSZone", "ZoneFiles", "DNSWire", "Health"]),
        .testTarget(
            name: "LoadAgentTests",
            dependencies: [
                "LoadAgent", "Health", .product(name: "NIOPosix", package: nio),
                .product(name: "NIOConcurrencyHelpers", package: nio), .product(name: "Logging", package: "swift-log"),
            ]),
        .testTarget(
            name: "ProberTests",
            dependencies: [
                "Health", "Prober", "DNSWire",
                .product(name: "NIOCore", package: nio),
                .product(name: "NIOPosix", package: nio),
                .product(name: "NIOHTTP1", package: nio),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOConcurrencyHelpers", package: nio),
            ]
        ),
        .testTarget(
            name: "DNSSECTests",
            dependencies: [
                "DNSSEC", "Responder", "DNSZone", "ZoneFiles", "DNSWire", "Transfer",
                .product(name: "Crypto", package: "swift-crypto"),
            ]),
        .testTarget(
            name: "TransferTests", dependencies: ["Transfer", "DNSZone", "DNSWire", "Balancer", "Health", "Responder"]),
        .testTarget(
            name: "ResponderTests",
            dependencies: ["Responder", "DNSZone", "ZoneFiles", "DNSWire", "Balancer", "Health"]),
        .testTarget(
            name: "ListenersTests",
            dependencies: [
                "Listeners", "Responder", "DNSZone", "ZoneFiles", "DNSWire",
                .product(name: "NIOCore", package: nio),
                .product(name: "NIOEmbedded", package: nio),
            ]
        ),
        .testTarget(
            name: "TransferServiceTests",
            dependencies: [
                "TransferService", "Transfer", "Listeners", "Responder", "Balancer", "Health", "DNSZone", "DNSWire",
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .testTarget(
            name: "RuntimeTests",
            dependencies: [
                "Runtime", "CarouselConfig", "Responder", "DNSZone", "DNSWire", "Transfer",
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .testTarget(
            name: "AdminTests",
            dependencies: [
                "Admin", "Runtime", "CarouselConfig",
                .product(name: "NIOCore", package: nio),
                .product(name: "NIOPosix", package: nio),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .testTarget(
            name: "IntegrationTests",
            // Crypto for the harness's own TSIG signer (Tests/IntegrationTests/Harness/TSIGSigner.swift).
            dependencies: ["carousel", "DNSWire", .product(name: "Crypto", package: "swift-crypto")],
            resources: [.copy("Fixtures")]
        ),
    ]
)

// Each module's README.md says what it owns and what it must not do; it is not a source file.
for target in package.targets where target.type == .regular || target.type == .executable {
    if !["CSocket", "CEpoll"].contains(target.name) { target.exclude.append("README.md") }
}
