// swift-tools-version: 6.1
// swift-cni: an embeddable Swift SDK for writing Kubernetes CNI network plugins.
// Dependencies point one way (Documentation/Architecture.md, "Layers", shows the graph, generated
// from this file; ArchitectureTests checks the import rules):
//   bottom:   NetPrimitives, JSONValues (nothing of the project), CLinuxShim -> ChildProcess, Namespaces
//   pure:     CNISpec, Datastore, IPAM, BGP, Mesh, Policy: no Netlink, no C library, no root
//   kernel:   CNetlink -> Netlink -> Routing -> VXLAN; CNftnl -> Nftables (beside Netlink) -> PolicyEnforcement
//   agents:   PolicyAgent (Policy + PolicyEnforcement + Datastore), AgentHTTP (status/metrics server)
//   tools:    Lab -> NetpolConformance, cnilab; TestSupport for tests
//   on top:   Examples/ (plugins and agents), Benchmarks/; nothing imports them but tests.
import PackageDescription

let swiftSettings: [SwiftSetting] = [
    .swiftLanguageMode(.v6),
]

let package = Package(
    name: "swift-cni",
    platforms: [.macOS(.v15)],
    products: [
        .library(name: "NetPrimitives", targets: ["NetPrimitives"]),
        .library(name: "JSONValues", targets: ["JSONValues"]),
        .library(name: "ChildProcess", targets: ["ChildProcess"]),
        .library(name: "Namespaces", targets: ["Namespaces"]),
        .library(name: "CNISpec", targets: ["CNISpec"]),
        .library(name: "Netlink", targets: ["Netlink"]),
        .library(name: "Nftables", targets: ["Nftables"]),
        .library(name: "HTTPTransport", targets: ["HTTPTransport"]),
        .library(name: "Datastore", targets: ["Datastore"]),
        .library(name: "KubernetesCore", targets: ["KubernetesCore"]),
        .library(name: "IPAMCore", targets: ["IPAMCore"]),
        .library(name: "IPAM", targets: ["IPAM"]),
        .library(name: "BGP", targets: ["BGP"]),
        .library(name: "Mesh", targets: ["Mesh"]),
        .library(name: "Policy", targets: ["Policy"]),
        .library(name: "PolicyEnforcement", targets: ["PolicyEnforcement"]),
        .library(name: "PolicyAgent", targets: ["PolicyAgent"]),
        .library(name: "AgentHTTP", targets: ["AgentHTTP"]),
        .library(name: "Routing", targets: ["Routing"]),
        .library(name: "VXLAN", targets: ["VXLAN"]),
        .library(name: "Weave", targets: ["Weave"]),
        .library(name: "Lab", targets: ["Lab"]),
        .library(name: "LabProfiles", targets: ["LabProfiles"]),
        .library(name: "LabMeasurement", targets: ["LabMeasurement"]),
        .library(name: "NetpolConformance", targets: ["NetpolConformance"]),
        .library(name: "NetpolConformanceLab", targets: ["NetpolConformanceLab"]),
        .library(name: "TestSupport", targets: ["TestSupport"]),
        .library(name: "Kubernetes", targets: ["Kubernetes"]),
        .library(name: "KubernetesTestServer", targets: ["KubernetesTestServer"]),
        .library(name: "KubeSync", targets: ["KubeSync"]),
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
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.4.1"),
        .package(url: "https://github.com/apple/swift-nio-ssl.git", from: "2.37.6"),
    ],
    targets: [
        // MARK: C shims and system libraries
        .target(name: "CLinuxShim"),
        // The system layer every module shares (EINTR retry, file I/O, the one file lock);
        // imported `internal` only.
        .target(name: "SystemSupport", swiftSettings: swiftSettings),
        .systemLibrary(
            name: "CNetlink",
            pkgConfig: "libnl-3.0",
            providers: [.apt(["libnl-3-dev"])]
        ),
        .systemLibrary(
            name: "CNftnl",
            pkgConfig: "libnftnl",
            providers: [.apt(["libnftnl-dev", "libmnl-dev"])]
        ),

        // MARK: Foundations (no root, no C libraries)
        .target(name: "NetPrimitives", swiftSettings: swiftSettings),
        // The one untyped JSON value (CNISpec's configurations, Datastore's records, Kubernetes'
        // objects), re-exported by those three.
        .target(name: "JSONValues", swiftSettings: swiftSettings),
        .target(name: "ChildProcess", dependencies: ["CLinuxShim", "SystemSupport"], swiftSettings: swiftSettings),
        .target(
            name: "Namespaces",
            dependencies: ["CLinuxShim", "ChildProcess"],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "CNISpec",
            // Namespaces: the runtime side's NamespacePluginLauncher (no libnl; a pure module still).
            dependencies: ["NetPrimitives", "JSONValues", "ChildProcess", "SystemSupport", "Namespaces"],
            swiftSettings: swiftSettings
        ),

        // MARK: Kernel core
        .target(
            name: "Netlink",
            dependencies: ["CNetlink", "CLinuxShim", "Namespaces", "NetPrimitives", "SystemSupport"],
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
            dependencies: ["NetlinkBenchmark", .product(name: "ArgumentParser", package: "swift-argument-parser")],
            path: "Benchmarks/netlink-bench",
            swiftSettings: swiftSettings
        ),

        // The command-line options the agents and tools share (flannel's etcd TLS and user flags).
        .target(
            name: "AgentOptions",
            dependencies: ["Datastore", .product(name: "ArgumentParser", package: "swift-argument-parser")],
            swiftSettings: swiftSettings
        ),

        // MARK: Cluster state and addresses
        // OpenSSL (libssl-dev) for https:// endpoints; imported `internal` by HTTPTransport only.
        // Static archives exist, so fully static plugin binaries link it too.
        .systemLibrary(
            name: "COpenSSL",
            pkgConfig: "openssl",
            providers: [.apt(["libssl-dev"])]
        ),
        // The blocking HTTP/1.1 + TLS client the etcd client and a plugin's Kubernetes reads
        // share (no NIO, no logging): what a short-lived plugin binary can afford.
        .target(
            name: "HTTPTransport",
            dependencies: ["SystemSupport", "COpenSSL"],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "Datastore",
            dependencies: ["SystemSupport", "HTTPTransport", "JSONValues", .product(name: "Logging", package: "swift-log")],
            swiftSettings: swiftSettings
        ),
        // A plugin's lean, blocking Kubernetes reads: kubeconfig (YAML subset or JSON) and
        // `get pod` (labels, named ports) over HTTPTransport; no NIO, Yams or logging.
        .target(
            name: "KubernetesCore",
            dependencies: ["HTTPTransport", "SystemSupport"],
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "datastore-tool",
            dependencies: ["AgentOptions", "Datastore", "IPAM", .product(name: "ArgumentParser", package: "swift-argument-parser")],
            path: "Examples/datastore-tool",
            swiftSettings: swiftSettings
        ),
        // The allocation model, host-local and the IPAM↔CNI glue (IPAMSource): what a plugin
        // with host-local in process links, without Datastore or logging. IPAM re-exports it.
        .target(
            name: "IPAMCore",
            dependencies: ["NetPrimitives", "JSONValues", "CNISpec", "SystemSupport"],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "IPAM",
            // KubernetesCore: a pod's labels and named ports for its record (PodMetadata).
            dependencies: ["IPAMCore", "NetPrimitives", "JSONValues", "CNISpec", "Datastore", "SystemSupport", "KubernetesCore"],
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
            dependencies: ["AgentOptions", 
                "BGP", "Netlink", "Nftables", "Namespaces", "NetPrimitives", "IPAM", "Datastore", "PolicyAgent", "AgentHTTP", "Routing", "Kubernetes",
                "Policy", "VXLAN",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
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
            dependencies: ["Namespaces", "ChildProcess", "CNIAddBenchmark", .product(name: "ArgumentParser", package: "swift-argument-parser")],
            path: "Benchmarks/calico-cni-bench",
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "calico-bgp-bench",
            dependencies: ["Namespaces", "ChildProcess", "Netlink", "NetPrimitives", .product(name: "ArgumentParser", package: "swift-argument-parser")],
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
            dependencies: ["IPAMBenchmark", .product(name: "ArgumentParser", package: "swift-argument-parser")],
            path: "Benchmarks/ipam-bench",
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

        // The Weave-like agent (Examples/swift-weaved): mesh, fast path, ring IPAM, policy; generate-secret, status, rmpeer.
        .executableTarget(
            name: "swift-weaved",
            dependencies: [
                "CNISpec",
                "Weave", "Mesh", "IPAM", "VXLAN", "Routing", "Netlink", "Nftables", "Namespaces", "NetPrimitives", "Datastore",
                "PolicyAgent", "AgentHTTP",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
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
            dependencies: ["CNISpec", "Routing", "Netlink", "Namespaces", "NetPrimitives", "IPAMCore"],
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
            dependencies: ["CNIAddBenchmark", .product(name: "ArgumentParser", package: "swift-argument-parser")],
            path: "Benchmarks/cni-add-bench",
            swiftSettings: swiftSettings
        ),

        // The flannel agent (Examples/swift-flanneld): not on the pod ADD path, so it may use NIO.
        .executableTarget(
            name: "swift-flanneld",
            dependencies: ["AgentOptions", 
                "ChildProcess", "Routing", "VXLAN", "Netlink", "Nftables", "Namespaces", "NetPrimitives", "CNISpec", "Datastore", "IPAM",
                "AgentHTTP", "Kubernetes",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
            ],
            path: "Examples/swift-flanneld",
            exclude: ["README.md"],
            swiftSettings: swiftSettings
        ),

        .executableTarget(
            name: "overlay-bench",
            dependencies: ["VXLAN", "Routing", "Netlink", "Namespaces", "NetPrimitives", .product(name: "ArgumentParser", package: "swift-argument-parser")],
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
            dependencies: ["AgentOptions", "CNISpec", 
                "PolicyAgent", "Netlink", "Namespaces", "NetPrimitives", "Datastore", "ChildProcess", "AgentHTTP", "Routing",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            path: "Examples/swift-canald",
            exclude: ["README.md"],
            swiftSettings: swiftSettings
        ),

        // MARK: swift-weave: Weave Net's pod attachment (bridge weave, ring addresses from the
        // local swift-weaved, whose target is next to Mesh's).
        // The Weave library is what both sides share: names, the agent socket protocol and its
        // client (lean: no full Foundation, no NIO, so the plugin stays small).
        .target(
            name: "Weave",
            dependencies: ["Routing", "NetPrimitives", "SystemSupport", "CLinuxShim"],
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "swift-weave",
            dependencies: ["Weave", "CNISpec", "Routing", "Netlink", "Namespaces", "NetPrimitives", "IPAM", "Datastore"],
            path: "Examples/swift-weave",
            exclude: ["README.md"],
            swiftSettings: swiftSettings
        ),
        // MARK: swift-ptp: the reference ptp plugin's data path and configuration, written as the
        // DocC tutorial writes it. Examples/swift-ptp is also a package of its own (depending on this
        // one by path, public API only; CI builds it so); this target builds the same sources for
        // the tests and `make install-plugins`.
        .executableTarget(
            name: "swift-ptp",
            dependencies: ["CNISpec", "IPAMCore", "Routing", "Netlink", "NetPrimitives", "ChildProcess"],
            path: "Examples/swift-ptp/Sources/swift-ptp",
            swiftSettings: swiftSettings
        ),

        // MARK: The multi-node lab (engine of cnilab and of the end-to-end tests)
        .target(
            name: "Lab",
            dependencies: [
                "Netlink", "Nftables", "Namespaces", "CNISpec", "ChildProcess", "NetPrimitives", "Datastore", "Policy", "PolicyAgent", "SystemSupport",
                "Kubernetes",
                .product(name: "Yams", package: "Yams"),
            ],
            swiftSettings: swiftSettings
        ),

        // The project's plugins (Examples/) and the reference plugins as lab profiles: the Lab
        // knows no plugin, these conform to its LabProfile protocol.
        .target(
            name: "LabProfiles",
            dependencies: ["Lab", "CNISpec", "Datastore", "IPAM", "NetPrimitives", "Netlink", "Namespaces", "Weave"],
            swiftSettings: swiftSettings
        ),

        // Upstream's NetworkPolicy e2e cases as truth tables (pure), and their runner on a live lab.
        .target(name: "NetpolConformance", dependencies: ["Policy", "NetPrimitives"], swiftSettings: swiftSettings),
        .target(name: "NetpolConformanceLab", dependencies: ["NetpolConformance", "Lab"], swiftSettings: swiftSettings),

        // cnilab compare and bench: the measurements and their documents (cnilab prints them).
        .target(
            name: "LabMeasurement",
            dependencies: [
                "Lab", "LabProfiles", "NetpolConformance", "NetpolConformanceLab", "Namespaces", "ChildProcess", "Mesh",
                "NetlinkBenchmark", "CNIAddBenchmark", "IPAMBenchmark", "BGPBenchmark", "PolicyEnforcerBenchmark",
            ],
            path: "Benchmarks/LabMeasurement",
            swiftSettings: swiftSettings
        ),

        // The lab CLI (a thin shell over Lab and LabMeasurement) and the tiny server every lab pod runs.
        .executableTarget(
            name: "cnilab",
            dependencies: [
                "Lab", "LabProfiles", "LabMeasurement", "NetpolConformance", "NetpolConformanceLab", "Policy", "MeshBenchmark",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            swiftSettings: swiftSettings
        ),
        .executableTarget(name: "cnilab-pod-server", swiftSettings: swiftSettings),

        // MARK: Network policy
        // The pure layer: model, semantics, explain and the compiler to an IR (no kernel, no C).
        .target(
            name: "Policy",
            dependencies: ["NetPrimitives", .product(name: "Yams", package: "Yams")],
            swiftSettings: swiftSettings
        ),
        // Its nftables enforcement (table inet swiftcni_policy), on Nftables.
        .target(
            name: "PolicyEnforcement",
            dependencies: ["Policy", "Nftables", "Netlink", "NetPrimitives"],
            swiftSettings: swiftSettings
        ),

        // Policy enforcement from the Datastore for one node's pods (swift-calico-node, swift-canald).
        .target(
            name: "PolicyAgent",
            dependencies: [
                "Policy", "PolicyEnforcement", "Nftables", "Netlink", "Datastore", "NetPrimitives", "Namespaces",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: swiftSettings
        ),
        // The agents' status endpoint: /healthz, /metrics (swift-metrics into swift-prometheus) and
        // their own paths, on NIOHTTP1 (swift-flanneld, swift-calico-node, swift-canald).
        .target(
            name: "AgentHTTP",
            // CNISpec: AgentHealth publishes the agent's readiness for the plugin's STATUS.
            dependencies: ["CNISpec",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "CoreMetrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: swiftSettings
        ),
        // How fast the PolicyAgent applies store changes, run by hand as root (Documentation/Performance-PolicyAgent.md).
        .executableTarget(
            name: "policy-agent-bench",
            dependencies: ["PolicyAgent", "Datastore", "Namespaces", .product(name: "ArgumentParser", package: "swift-argument-parser")],
            path: "Benchmarks/policy-agent-bench",
            swiftSettings: swiftSettings
        ),
        // Benchmark of the pure policy layers, run by hand (see Documentation/Performance.md).
        .executableTarget(
            name: "policy-benchmark",
            dependencies: ["Policy", "NetPrimitives", "PolicyEnforcerBenchmark", .product(name: "ArgumentParser", package: "swift-argument-parser")],
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
            dependencies: ["BGPBenchmark", .product(name: "ArgumentParser", package: "swift-argument-parser")],
            path: "Benchmarks/bgp-bench",
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
        .executableTarget(
            name: "mesh-bench",
            dependencies: ["MeshBenchmark"],
            path: "Benchmarks/mesh-bench",
            swiftSettings: swiftSettings
        ),

        // Benchmark of the nftables policy enforcer, run by hand as root (Documentation/Performance-PolicyEnforcer.md).
        .target(
            name: "PolicyEnforcerBenchmark",
            dependencies: ["Policy", "PolicyEnforcement", "Netlink", "Nftables", "Namespaces", "NetPrimitives", "ChildProcess"],
            path: "Benchmarks/PolicyEnforcerBenchmark",
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "policy-enforcer-bench",
            dependencies: ["PolicyEnforcerBenchmark", .product(name: "ArgumentParser", package: "swift-argument-parser")],
            path: "Benchmarks/policy-enforcer-bench",
            swiftSettings: swiftSettings
        ),

        // MARK: Kubernetes: the API client and informers, and a fixture API server for tests
        // (issue 20). No C module, no root.
        .target(
            name: "Kubernetes",
            dependencies: [
                "JSONValues", "KubernetesCore",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "KubernetesTestServer",
            dependencies: [
                "Kubernetes", "Datastore", .product(name: "Yams", package: "Yams"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
            ],
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
            dependencies: ["Netlink", "Nftables", "Namespaces", "NetPrimitives", "ChildProcess", .product(name: "ArgumentParser", package: "swift-argument-parser")],
            path: "Benchmarks/NftablesBenchmark",
            swiftSettings: swiftSettings
        ),

        // MARK: Tests
        // The import rules and the module graph of Documentation/Architecture.md (reads the tree; no dependencies).
        .testTarget(name: "ArchitectureTests", swiftSettings: swiftSettings),
        .testTarget(name: "NetPrimitivesTests", dependencies: ["NetPrimitives"], swiftSettings: swiftSettings),
        .testTarget(name: "JSONValuesTests", dependencies: ["JSONValues"], swiftSettings: swiftSettings),
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
            dependencies: ["Netlink", "TestSupport", "Namespaces", "ChildProcess"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "NftablesTests",
            dependencies: ["Nftables", "Netlink", "TestSupport", "Namespaces", "NetPrimitives", "ChildProcess"],
            swiftSettings: swiftSettings
        ),
        .testTarget(name: "ChildProcessTests", dependencies: ["ChildProcess"], swiftSettings: swiftSettings),
        .testTarget(
            name: "DatastoreTests",
            dependencies: ["Datastore", "TestSupport", "ChildProcess", "Lab"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "IPAMTests",
            dependencies: ["IPAM", "IPAMCore", "Datastore", "CNISpec", "TestSupport", "Namespaces", "ChildProcess"],
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
            // The install test installs every plugin (make install-plugins), so it needs them built.
            dependencies: ["swift-flannel", "swift-ipam", "swift-calico", "swift-canal", "swift-ptp", "Routing", "Netlink", "TestSupport", "Namespaces", "CNISpec", "ChildProcess", "NetPrimitives"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "VXLANTests",
            dependencies: ["VXLAN", "Routing", "Netlink", "TestSupport", "Namespaces"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "FlannelAgentTests",
            dependencies: [
                "swift-flanneld", "swift-flannel", "AgentHTTP", "Datastore", "Netlink", "Nftables", "TestSupport", "Namespaces", "NetPrimitives", "ChildProcess",
                "Kubernetes", "KubernetesTestServer", "IPAM",
                // ContainerdTests runs the plugin under containerd (swift-flannel, listed above).
                "CNISpec",
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "LabTests",
            dependencies: [
                "Lab", "LabProfiles", "NetpolConformance", "NetpolConformanceLab", "TestSupport", "Namespaces", "CNISpec", "ChildProcess",
                "Datastore", "Netlink", "NetPrimitives",
                "Policy", "cnilab", "cnilab-pod-server", "swift-flannel", "swift-flanneld", "swift-calico", "swift-calico-node", "swift-canal", "swift-canald",
                "cnilab-apiserver", "swift-kube-sync", "Kubernetes", "datastore-tool",
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "NetpolConformanceTests", dependencies: ["NetpolConformance", "Policy", "NetPrimitives"], swiftSettings: swiftSettings),
        .testTarget(
            name: "LabMeasurementTests",
            dependencies: ["LabMeasurement", "Lab", "LabProfiles", "TestSupport", "ChildProcess", "cnilab-pod-server"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "PolicyTests", dependencies: ["Policy", "NetPrimitives", "PolicyTestFixtures"], swiftSettings: swiftSettings),
        // The netpol e2e cluster shape both policy test targets evaluate against (test-only helper).
        .target(name: "PolicyTestFixtures", dependencies: ["Policy", "NetPrimitives"], path: "Tests/PolicyTestFixtures", swiftSettings: swiftSettings),
        .testTarget(
            name: "PolicyEnforcementTests",
            dependencies: [
                "PolicyEnforcement", "Policy", "PolicyTestFixtures", "Netlink", "Nftables", "Namespaces", "NetPrimitives", "TestSupport",
                "ChildProcess",
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "AgentHTTPTests",
            dependencies: [
                "AgentHTTP",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "CoreMetrics", package: "swift-metrics"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "PolicyAgentTests",
            dependencies: ["PolicyAgent", "Policy", "PolicyEnforcement", "Datastore", "Netlink", "Nftables", "Namespaces", "NetPrimitives", "TestSupport", "ChildProcess"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "SwiftCanalTests",
            dependencies: [
                "swift-canal", "swift-canald", "swift-flanneld", "PolicyAgent", "CNISpec", "Datastore", "Netlink", "TestSupport",
                "Namespaces", "NetPrimitives", "ChildProcess", "Kubernetes", "KubernetesTestServer", "Lab",
            ],
            swiftSettings: swiftSettings
        ),
        // MARK: swift-kube-sync (issue 20, item 3): the API's nodes, pods, namespaces and network
        // policies mirrored into the Datastore keys the agents read; the fixture API server as the
        // process `cnilab up --kube` runs in a lab's fabric namespace.
        .target(
            name: "KubeSync",
            dependencies: ["Kubernetes", "Datastore", "NetPrimitives", .product(name: "Logging", package: "swift-log")],
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "swift-kube-sync",
            dependencies: [
                "KubeSync", "Kubernetes", "Datastore", "AgentHTTP",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            path: "Examples/swift-kube-sync",
            exclude: ["README.md"],
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "cnilab-apiserver",
            dependencies: [
                "KubernetesTestServer", "Datastore", .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "KubeSyncTests",
            dependencies: ["KubeSync", "Kubernetes", "KubernetesTestServer", "Datastore", "Policy", "TestSupport", "ChildProcess", "swift-kube-sync"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "KubernetesTests",
            dependencies: ["Kubernetes", "KubernetesTestServer", "KubernetesCore", "HTTPTransport", "Datastore", "TestSupport", "ChildProcess"],
            exclude: ["Scripts", "Fixtures"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "SwiftPTPTests",
            dependencies: ["swift-ptp", "CNISpec", "TestSupport", "Namespaces", "ChildProcess", "NetPrimitives"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "SwiftCalicoTests",
            dependencies: [
                "swift-calico", "swift-calico-node", "swift-ipam", "CNISpec", "Netlink", "Nftables", "TestSupport", "Namespaces", "ChildProcess",
                "NetPrimitives", "Datastore", "AgentHTTP", "Kubernetes", "KubernetesTestServer", "Lab",
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "WeaveTests",
            dependencies: [
                "Weave", "VXLAN", "swift-weave", "swift-weaved", "Lab", "LabProfiles", "NetpolConformance", "NetpolConformanceLab",
                "cnilab-pod-server", "CNISpec", "Netlink", "Mesh",
                "Namespaces", "NetPrimitives", "TestSupport", "ChildProcess", "IPAM", "Datastore",
            ],
            swiftSettings: swiftSettings
        ),
    ]
)
