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
        .library(name: "Nftables", targets: ["Nftables"]),
        .library(name: "Datastore", targets: ["Datastore"]),
        .library(name: "IPAM", targets: ["IPAM"]),
        .library(name: "BGP", targets: ["BGP"]),
        .library(name: "Mesh", targets: ["Mesh"]),
        .library(name: "Policy", targets: ["Policy"]),
        .library(name: "PolicyAgent", targets: ["PolicyAgent"]),
        .library(name: "Routing", targets: ["Routing"]),
        .library(name: "VXLAN", targets: ["VXLAN"]),
        .library(name: "Lab", targets: ["Lab"]),
        .library(name: "NetpolConformance", targets: ["NetpolConformance"]),
        .library(name: "TestSupport", targets: ["TestSupport"]),
        .executable(name: "cnilab", targets: ["cnilab"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
        .package(url: "https://github.com/swiftlang/swift-docc-plugin.git", from: "1.5.0"),
        .package(url: "https://github.com/jpsim/Yams.git", from: "6.2.2"),
        .package(url: "https://github.com/apple/swift-metrics.git", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-crypto.git", from: "4.5.2"),
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
            dependencies: ["CNetlink", "CLinuxShim", "Namespaces", "NetPrimitives"],
            swiftSettings: swiftSettings
        ),
        // nftables on libnftnl/libmnl, apart from Netlink so that plugins, which need no
        // nftables, link neither library and can be fully static.
        .target(
            name: "Nftables",
            dependencies: ["CNftnl", "Netlink", "Namespaces", "NetPrimitives"],
            swiftSettings: swiftSettings
        ),

        .target(
            name: "NetlinkBenchmark",
            dependencies: ["Netlink", "Namespaces", "NetPrimitives", "ChildProcess"],
            path: "Benchmarks/NetlinkBenchmark",
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "netlink-bench",
            dependencies: ["NetlinkBenchmark"],
            path: "Benchmarks/netlink-bench",
            swiftSettings: swiftSettings
        ),

        // MARK: Cluster state and addresses
        .target(
            name: "Datastore",
            dependencies: [.product(name: "Logging", package: "swift-log")],
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "datastore-tool",
            dependencies: ["Datastore"],
            path: "Examples/datastore-tool",
            swiftSettings: swiftSettings
        ),
        .target(
            name: "IPAM",
            dependencies: ["NetPrimitives", "CNISpec", "Datastore"],
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "swift-ipam",
            dependencies: ["IPAM", "Datastore", "NetPrimitives", "CNISpec"],
            path: "Examples/swift-ipam",
            exclude: ["README.md"],
            swiftSettings: swiftSettings,
            linkerSettings: [
                .unsafeFlags(["-static-stdlib"], .when(configuration: .release)),
                // FoundationEssentials.a needs these when the standard library is linked statically.
                .linkedLibrary("_FoundationCollections", .when(configuration: .release)),
                .linkedLibrary("_FoundationCShims", .when(configuration: .release)),
            ]
        ),
        // MARK: swift-calico: the CNI plugin (routed veth per pod, block IPAM) and its agent.
        .executableTarget(
            name: "swift-calico",
            dependencies: ["CNISpec", "Routing", "Netlink", "Namespaces", "NetPrimitives", "IPAM", "Datastore"],
            path: "Examples/swift-calico",
            exclude: ["README.md"],
            swiftSettings: swiftSettings,
            linkerSettings: [
                .unsafeFlags(["-static-stdlib"], .when(configuration: .release)),
                .linkedLibrary("_FoundationCollections", .when(configuration: .release)),
                .linkedLibrary("_FoundationCShims", .when(configuration: .release)),
            ]
        ),
        .executableTarget(
            name: "swift-calico-node",
            dependencies: [
                "BGP", "Netlink", "Nftables", "Namespaces", "NetPrimitives", "IPAM", "Datastore", "PolicyAgent",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            path: "Examples/swift-calico-node",
            exclude: ["README.md"],
            swiftSettings: swiftSettings
        ),
        // swift-calico benchmarks, run by hand (Documentation/Performance-Calico.md).
        .executableTarget(
            name: "calico-cni-bench",
            dependencies: ["Namespaces", "ChildProcess"],
            path: "Benchmarks/calico-cni-bench",
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "calico-bgp-bench",
            dependencies: ["Namespaces", "ChildProcess", "Netlink", "NetPrimitives"],
            path: "Benchmarks/calico-bgp-bench",
            swiftSettings: swiftSettings
        ),
        .target(
            name: "IPAMBenchmark",
            dependencies: ["ChildProcess"],
            path: "Benchmarks/IPAMBenchmark",
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "ipam-bench",
            dependencies: ["IPAMBenchmark"],
            path: "Examples/ipam-bench",
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

        // Weave Net's control plane: peer connections with authenticated encryption, gossip,
        // unicast and broadcast routes. NIO + swift-crypto; no Netlink, no C module, no root.
        .target(
            name: "Mesh",
            dependencies: [
                "NetPrimitives",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "CryptoExtras", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        // The Weave-like agent (Examples/swift-weaved): today only generate-secret; the agent comes with issue 15.
        .executableTarget(
            name: "swift-weaved",
            dependencies: ["Mesh", .product(name: "ArgumentParser", package: "swift-argument-parser")],
            path: "Examples/swift-weaved",
            exclude: ["README.md"],
            swiftSettings: swiftSettings
        ),

        // MARK: Data path
        .target(
            name: "Routing",
            dependencies: ["Netlink", "NetPrimitives", "Namespaces", "CNISpec"],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "VXLAN",
            dependencies: ["Routing", "Netlink", "NetPrimitives"],
            swiftSettings: swiftSettings
        ),

        // MARK: swift-flannel, the CNI plugin (lean: no full Foundation). Release binaries link
        // the Swift runtime statically: `swift build -c release --static-swift-stdlib`
        // (`make install-plugins`). A `-static-stdlib` linker flag here instead leaves
        // FoundationEssentials' own static dependencies unresolved; SwiftPM's option links them.
        .executableTarget(
            name: "swift-flannel",
            dependencies: ["CNISpec", "Routing", "Netlink", "Namespaces", "NetPrimitives", "IPAM"],
            path: "Examples/swift-flannel",
            exclude: ["README.md", "10-swift-flannel.conflist"],
            swiftSettings: swiftSettings
        ),

        .target(
            name: "CNIAddBenchmark",
            dependencies: ["Namespaces", "ChildProcess"],
            path: "Benchmarks/CNIAddBenchmark",
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "cni-add-bench",
            dependencies: ["CNIAddBenchmark"],
            path: "Benchmarks/cni-add-bench",
            swiftSettings: swiftSettings
        ),

        // The flannel agent (Examples/swift-flanneld): not on the pod ADD path, so it may use NIO.
        .executableTarget(
            name: "swift-flanneld",
            dependencies: [
                "CLinuxShim", "Routing", "VXLAN", "Netlink", "Nftables", "Namespaces", "NetPrimitives", "CNISpec", "Datastore", "IPAM",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "CoreMetrics", package: "swift-metrics"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
            ],
            path: "Examples/swift-flanneld",
            exclude: ["README.md"],
            swiftSettings: swiftSettings
        ),

        .executableTarget(
            name: "overlay-bench",
            dependencies: ["VXLAN", "Routing", "Netlink", "Namespaces", "NetPrimitives"],
            path: "Benchmarks/overlay-bench",
            swiftSettings: swiftSettings
        ),

        // MARK: swift-canal: Calico's routed veth per pod over flannel's VXLAN subnet, and its agent
        // (swift-flanneld supervised as a child + the PolicyAgent).
        .executableTarget(
            name: "swift-canal",
            dependencies: ["CNISpec", "Routing", "Netlink", "Namespaces", "NetPrimitives", "IPAM", "Datastore"],
            path: "Examples/swift-canal",
            exclude: ["README.md"],
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "swift-canald",
            dependencies: [
                "PolicyAgent", "Netlink", "Namespaces", "NetPrimitives", "Datastore", "ChildProcess",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            path: "Examples/swift-canald",
            exclude: ["README.md"],
            swiftSettings: swiftSettings
        ),

        // MARK: The multi-node lab (engine of cnilab and of the end-to-end tests)
        .target(
            name: "Lab",
            dependencies: [
                "Netlink", "Namespaces", "CNISpec", "ChildProcess", "NetPrimitives", "Datastore", "Policy", "PolicyAgent",
                .product(name: "Yams", package: "Yams"),
            ],
            swiftSettings: swiftSettings
        ),

        // Upstream's NetworkPolicy e2e cases as truth tables, and their runner on a live lab.
        .target(name: "NetpolConformance", dependencies: ["Lab", "Policy", "NetPrimitives"], swiftSettings: swiftSettings),

        // The lab CLI (a thin shell over Lab) and the tiny server every lab pod runs.
        .executableTarget(
            name: "cnilab",
            dependencies: [
                "Lab", "NetpolConformance", "NetlinkBenchmark", "CNIAddBenchmark", "Policy", "PolicyEnforcerBenchmark", "BGPBenchmark", "IPAMBenchmark", "MeshBenchmark",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            swiftSettings: swiftSettings
        ),
        .executableTarget(name: "cnilab-pod-server", swiftSettings: swiftSettings),

        // MARK: Network policy
        .target(
            name: "Policy",
            dependencies: ["NetPrimitives", "Netlink", "Nftables", .product(name: "Yams", package: "Yams")],
            swiftSettings: swiftSettings
        ),

        // Policy enforcement from the Datastore for one node's pods (swift-calico-node, swift-canald).
        .target(
            name: "PolicyAgent",
            dependencies: [
                "Policy", "Nftables", "Netlink", "Datastore", "NetPrimitives", "Namespaces",
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        // How fast the PolicyAgent applies store changes, run by hand as root (Documentation/Performance-PolicyAgent.md).
        .executableTarget(
            name: "policy-agent-bench",
            dependencies: ["PolicyAgent", "Datastore", "Namespaces"],
            path: "Benchmarks/policy-agent-bench",
            swiftSettings: swiftSettings
        ),
        // Benchmark of the pure policy layers, run by hand (see Documentation/Performance.md).
        .executableTarget(
            name: "policy-benchmark",
            dependencies: ["Policy", "NetPrimitives", "PolicyEnforcerBenchmark"],
            path: "Benchmarks/PolicyBenchmark",
            swiftSettings: swiftSettings
        ),
        .target(
            name: "BGPBenchmark",
            dependencies: ["BGP", "Namespaces", "ChildProcess", "NetPrimitives"],
            path: "Benchmarks/BGPBenchmark",
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "bgp-bench",
            dependencies: ["BGPBenchmark"],
            swiftSettings: swiftSettings
        ),
        // Mesh routers on loopback in one process, run by hand (cnilab bench mesh; Documentation/Performance-Mesh.md).
        .target(
            name: "MeshBenchmark",
            dependencies: [
                "Mesh", "NetPrimitives", .product(name: "NIOCore", package: "swift-nio"), .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ],
            path: "Benchmarks/MeshBenchmark",
            swiftSettings: swiftSettings
        ),

        // Benchmark of the nftables policy enforcer, run by hand as root (Documentation/Performance-PolicyEnforcer.md).
        .target(
            name: "PolicyEnforcerBenchmark",
            dependencies: ["Policy", "Netlink", "Nftables", "Namespaces", "NetPrimitives", "ChildProcess"],
            path: "Benchmarks/PolicyEnforcerBenchmark",
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "policy-enforcer-bench",
            dependencies: ["PolicyEnforcerBenchmark"],
            path: "Benchmarks/policy-enforcer-bench",
            swiftSettings: swiftSettings
        ),

        // MARK: Test support (a library for tests, shipped so users can test their plugins too)
        .target(
            name: "TestSupport",
            dependencies: ["Namespaces", "CNISpec", "ChildProcess", "NetPrimitives"],
            swiftSettings: swiftSettings
        ),

        // MARK: Benchmarks (run by hand, never in the test suite)
        .executableTarget(
            name: "NftablesBenchmark",
            dependencies: ["Netlink", "Nftables", "Namespaces", "NetPrimitives", "ChildProcess"],
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
            dependencies: ["CNISpec", "TestSupport", "Namespaces", "ChildProcess", "cni-test-plugin", "cni-hello-plugin"],
            resources: [.copy("Fixtures")],
            swiftSettings: swiftSettings
        ),
        // CNISpec's test plugins (run as processes by CNISpecTests; the hello plugin is the
        // landing-page snippet of the CNISpec documentation).
        .executableTarget(
            name: "cni-test-plugin", dependencies: ["CNISpec", "NetPrimitives"], path: "Tests/CNITestPlugin",
            swiftSettings: swiftSettings),
        .executableTarget(
            name: "cni-hello-plugin", dependencies: ["CNISpec"], path: "Tests/CNIHelloPlugin",
            swiftSettings: swiftSettings),
        .testTarget(
            name: "NetlinkTests",
            dependencies: ["Netlink", "Nftables", "TestSupport", "Namespaces", "ChildProcess"],
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
        .testTarget(
            name: "MeshTests",
            dependencies: [
                "Mesh", "NetPrimitives",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Crypto", package: "swift-crypto"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "RoutingTests",
            dependencies: ["Routing", "Netlink", "TestSupport", "Namespaces", "CNISpec"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "SwiftFlannelTests",
            dependencies: ["swift-flannel", "Routing", "Netlink", "TestSupport", "Namespaces", "CNISpec", "ChildProcess", "NetPrimitives"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "VXLANTests",
            dependencies: ["VXLAN", "Routing", "Netlink", "TestSupport", "Namespaces"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "FlannelAgentTests",
            dependencies: ["swift-flanneld", "Datastore", "Netlink", "Nftables", "TestSupport", "Namespaces", "NetPrimitives", "ChildProcess"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "LabTests",
            dependencies: [
                "Lab", "NetpolConformance", "TestSupport", "Namespaces", "CNISpec", "ChildProcess", "Datastore", "Netlink", "NetPrimitives",
                "Policy", "cnilab", "cnilab-pod-server", "swift-flannel", "swift-flanneld", "swift-calico", "swift-calico-node", "swift-canal", "swift-canald",
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "NetpolConformanceTests", dependencies: ["NetpolConformance", "Policy", "NetPrimitives"], swiftSettings: swiftSettings),
        .testTarget(
            name: "PolicyTests", dependencies: ["Policy", "Netlink", "Nftables", "Namespaces", "NetPrimitives", "TestSupport", "ChildProcess"],
            swiftSettings: swiftSettings),
        .testTarget(
            name: "PolicyAgentTests",
            dependencies: ["PolicyAgent", "Policy", "Datastore", "Netlink", "Nftables", "Namespaces", "NetPrimitives", "TestSupport", "ChildProcess"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "SwiftCanalTests",
            dependencies: [
                "swift-canal", "swift-canald", "swift-flanneld", "PolicyAgent", "CNISpec", "Datastore", "Netlink", "TestSupport",
                "Namespaces", "NetPrimitives", "ChildProcess",
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "SwiftCalicoTests",
            dependencies: [
                "swift-calico", "swift-calico-node", "swift-ipam", "CNISpec", "Netlink", "Nftables", "TestSupport", "Namespaces", "ChildProcess",
                "NetPrimitives", "Datastore",
            ],
            swiftSettings: swiftSettings
        ),
    ]
)
