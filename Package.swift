// swift-tools-version: 6.1
// swift-cni: an embeddable Swift SDK for writing Kubernetes CNI network plugins.
// Layering (one way): C shims -> Netlink -> Routing -> VXLAN/Policy -> Lab -> examples, cnilab.
// NetPrimitives, ChildProcess, CNISpec, IPAM, Datastore and BGP use no C library and need no root.
import PackageDescription

let swiftSettings: [SwiftSetting] = [
    .swiftLanguageMode(.v6),
]

let package = Package(
    name: "swift-cni",
    platforms: [.macOS(.v15)],
    products: [
        .library(name: "NetPrimitives", targets: ["NetPrimitives"]),
        .library(name: "ChildProcess", targets: ["ChildProcess"]),
        .library(name: "Namespaces", targets: ["Namespaces"]),
        .library(name: "CNISpec", targets: ["CNISpec"]),
        .library(name: "Netlink", targets: ["Netlink"]),
        .library(name: "Datastore", targets: ["Datastore"]),
        .library(name: "IPAM", targets: ["IPAM"]),
        .library(name: "BGP", targets: ["BGP"]),
        .library(name: "TestSupport", targets: ["TestSupport"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
        .package(url: "https://github.com/swiftlang/swift-docc-plugin.git", from: "1.5.0"),
    ],
    targets: [
        // MARK: C shims and system libraries
        .target(name: "CLinuxShim"),
        .systemLibrary(
            name: "CNetlink",
            pkgConfig: "libnl-route-3.0",
            providers: [.apt(["libnl-3-dev", "libnl-route-3-dev"])]
        ),
        .systemLibrary(
            name: "CNftnl",
            pkgConfig: "libnftnl",
            providers: [.apt(["libnftnl-dev", "libmnl-dev"])]
        ),

        // MARK: Foundations (no root, no C libraries)
        .target(name: "NetPrimitives", swiftSettings: swiftSettings),
        .target(name: "ChildProcess", dependencies: ["CLinuxShim"], swiftSettings: swiftSettings),
        .target(
            name: "Namespaces",
            dependencies: ["CLinuxShim", "ChildProcess"],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "CNISpec",
            dependencies: ["NetPrimitives", "ChildProcess"],
            swiftSettings: swiftSettings
        ),

        // MARK: Kernel core
        .target(
            name: "Netlink",
            dependencies: ["CNetlink", "CNftnl", "CLinuxShim", "Namespaces", "NetPrimitives"],
            swiftSettings: swiftSettings
        ),

        // MARK: Cluster state and addresses
        .target(
            name: "Datastore",
            dependencies: [.product(name: "Logging", package: "swift-log")],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "IPAM",
            dependencies: ["NetPrimitives", "CNISpec", "Datastore"],
            swiftSettings: swiftSettings
        ),

        // MARK: Routing protocols
        .target(
            name: "BGP",
            dependencies: [
                "NetPrimitives",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: swiftSettings
        ),

        .executableTarget(
            name: "bgp-bench",
            dependencies: ["BGP", "Namespaces", "ChildProcess", "NetPrimitives"],
            swiftSettings: swiftSettings
        ),

        // MARK: Test support (a library for tests, shipped so users can test their plugins too)
        .target(
            name: "TestSupport",
            dependencies: ["Namespaces"],
            swiftSettings: swiftSettings
        ),

        // MARK: Tests
        .testTarget(name: "NetPrimitivesTests", dependencies: ["NetPrimitives"], swiftSettings: swiftSettings),
        .testTarget(
            name: "NamespacesTests",
            dependencies: ["Namespaces", "TestSupport", "ChildProcess"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "CNISpecTests",
            dependencies: ["CNISpec", "TestSupport", "Namespaces", "ChildProcess"],
            resources: [.copy("Fixtures")],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "NetlinkTests",
            dependencies: ["Netlink", "TestSupport", "Namespaces", "ChildProcess"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "DatastoreTests",
            dependencies: ["Datastore", "TestSupport", "ChildProcess"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "IPAMTests",
            dependencies: ["IPAM", "Datastore", "CNISpec", "TestSupport", "Namespaces", "ChildProcess"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "BGPTests",
            dependencies: ["BGP", "TestSupport", "Namespaces", "ChildProcess"],
            swiftSettings: swiftSettings
        ),
    ]
)
