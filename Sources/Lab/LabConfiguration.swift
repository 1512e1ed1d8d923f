import ChildProcess
import Foundation
import NetPrimitives

/// How to create a lab with ``Lab/up(_:)``.
public struct LabConfiguration: Sendable {
    /// The lab's name (lowercase letters and digits): namespaces are named `cnilab-<name>-…`.
    public var name: String
    /// Where the lab's state lives (default ``defaultStateDirectory(lab:)``).
    public var stateDirectory: String
    /// The plugin side: agents, network configuration, readiness (see ``LabProfile``).
    public var profile: any LabProfile
    public var nodeCount: Int
    public var store: LabStoreKind
    /// Run the fixture API server and swift-kube-sync in the fabric namespace; pods, labels and
    /// Kubernetes policies then go through the API (`cnilab up --kube`).
    public var kubernetes: Bool
    /// With ``LabStoreKind/etcd``: etcd serves `https://` only and requires client
    /// certificates (a PKI made with openssl in `<state>/etcd/pki`); every agent and plugin
    /// gets the CA, certificate and key (`cnilab up --store etcd --etcd-tls`).
    public var etcdTLS: Bool
    /// Where to find `cnilab-pod-server`, agents and the project's plugins (default
    /// ``defaultExecutableDirectories``).
    public var executableDirectories: [String]
    /// The number of underlay subnets (default 1: every node on the fabric bridge). With N > 1
    /// nodes are spread round-robin over N /24 subnets joined by a router namespace
    /// (`cnilab-<lab>-router`) that routes only the underlay, as a cloud VPC does
    /// (`cnilab up --underlay-subnets N`; see `LabAddressing`).
    public var underlaySubnets: Int
    /// The pods' address families, and IPv6 on the underlay with `ipv6` and `dual`
    /// (`cnilab up --ip-family`; default ``LabIPFamily/ipv4``).
    public var ipFamily: LabIPFamily
    /// Called with a line per long step (fabric, store, each node), for progress output.
    public var progress: (@Sendable (String) -> Void)?

    public init(
        name: String = "default", stateDirectory: String? = nil, profile: some LabProfile,
        nodeCount: Int = 2, store: LabStoreKind = .file, executableDirectories: [String]? = nil,
        progress: (@Sendable (String) -> Void)? = nil, kubernetes: Bool = false, etcdTLS: Bool = false,
        underlaySubnets: Int = 1, ipFamily: LabIPFamily = .ipv4
    ) {
        self.ipFamily = ipFamily
        self.underlaySubnets = underlaySubnets
        self.kubernetes = kubernetes
        self.progress = progress
        self.etcdTLS = etcdTLS
        self.name = name
        self.stateDirectory = stateDirectory ?? Self.defaultStateDirectory(lab: name)
        self.profile = profile
        self.nodeCount = nodeCount
        self.store = store
        self.executableDirectories = executableDirectories ?? Self.defaultExecutableDirectories
    }

    /// `$CNILAB_STATE_DIR/<lab>` when that variable is set, else `/run/cnilab/<lab>`.
    public static func defaultStateDirectory(lab: String) -> String {
        let root = ProcessInfo.processInfo.environment["CNILAB_STATE_DIR"] ?? "/run/cnilab"
        return root + "/" + lab
    }

    /// `$CNILAB_BIN_DIR` (colon-separated) when set, then the directory of the running
    /// executable (where `swift build` puts every product of the package).
    public static var defaultExecutableDirectories: [String] {
        var directories: [String] = []
        if let configured = ProcessInfo.processInfo.environment["CNILAB_BIN_DIR"] {
            directories += configured.split(separator: ":").map(String.init)
        }
        if let executable = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe") {
            directories.append((executable as NSString).deletingLastPathComponent)
        }
        return directories
    }
}

/// Underlay and pod addressing of a lab (inside the lab's own namespaces only).
enum LabAddressing {
    static let underlayPrefixLength = 24
    static let fabricAddress = "192.168.77.1"
    /// Node I's underlay address: `192.168.(77+S).(10+I)` in subnet S = I mod N (with one
    /// subnet, `192.168.77.(10+I)` as always).
    static func underlayAddress(node index: Int, subnets: Int = 1) -> String {
        "192.168.\(77 + underlaySubnet(node: index, subnets: subnets)).\(10 + index)"
    }
    /// The underlay subnet of node I: nodes are spread round-robin.
    static func underlaySubnet(node index: Int, subnets: Int) -> Int { index % max(1, subnets) }
    /// Underlay subnet S: `192.168.(77+S).0/24`; subnet 0 is the fabric bridge's.
    static func underlayNetwork(subnet: Int) -> String { "192.168.\(77 + subnet).0/\(underlayPrefixLength)" }
    /// The router's address in subnet S, the nodes' gateway to the other subnets: `.254` on
    /// the fabric bridge (whose `.1` is the fabric's), `.1` on the router's own bridges.
    static func routerAddress(subnet: Int) -> String { subnet == 0 ? "192.168.77.254" : "192.168.\(77 + subnet).1" }
    static let maximumUnderlaySubnets = 8
    static let maximumNodes = 200
    static let underlayMTU = 1500
    static let etcdClientURL = "http://192.168.77.1:2379"
    /// The port of the lab's API server (`cnilab up --kube`) on the fabric address.
    static let apiServerPort = 6443
    static let etcdTLSClientURL = "https://192.168.77.1:2379"

    // IPv6 on the underlay (`--ip-family ipv6|dual`): the ULA fd77::/64 per underlay subnet,
    // the same host numbers as IPv4 written as IPv6 groups.
    static let underlayIPv6PrefixLength = 64
    static let fabricIPv6Address = "fd77::1"
    /// Node I's IPv6 underlay address: `fd77:0:0:S::(10+I)` (`fd77::10` for node 0).
    static func underlayIPv6Address(node index: Int, subnets: Int = 1) -> String {
        let text = "fd77:0:0:\(underlaySubnet(node: index, subnets: subnets))::\(10 + index)"
        return IPAddress(text)?.description ?? text
    }
    /// Underlay subnet S's IPv6 network: `fd77:0:0:S::/64`.
    static func underlayIPv6Network(subnet: Int) -> String { "fd77:0:0:\(subnet)::/\(underlayIPv6PrefixLength)" }
    /// The router's IPv6 address in subnet S (`::254` on the fabric bridge, `::1` on its own bridges).
    static func routerIPv6Address(subnet: Int) -> String { subnet == 0 ? "fd77::254" : "fd77:0:0:\(subnet)::1" }
}
