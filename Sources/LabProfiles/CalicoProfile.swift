import CNISpec
import Datastore
import Foundation
import Lab
import Namespaces
import NetPrimitives
import Netlink

/// `swift-calico-node` on every node (iBGP full mesh, AS 64512, one configuration file
/// `<state>/calico.json` in Calico's field names) and the `swift-calico` plugin with its
/// block-affinity IPAM (`calico-ipam`, pool 10.244.0.0/16, /26 blocks) on the lab's store.
/// Pod routes are learned over BGP only: no tunnel device. A node's reported subnet is its
/// affine blocks (its agent's `proto 93` blackholes), else the pool; a node that leaves has its
/// node record deleted, so the other agents drop their session to it.
///
/// `Lab.stopAgent(_:graceMilliseconds:)` makes an agent send a NOTIFICATION Cease to every
/// peer, which withdraw its blocks at once; after `Lab.killAgent(_:)` the peers keep its
/// routes (stale) for the graceful-restart time, then sweep them unless it came back.
///
/// The lab's `LabProfileContext.ipFamily`: with `dual` every pod also gets an IPv6 address
/// from the pool ``ipv6Pool`` (/122 blocks; Calico's link-local gateway), the agents are given
/// their node's IPv6 underlay address and carry IPv6 routes over their IPv4 sessions (MP-BGP,
/// the node's IPv6 address as next hop); with `ipv6` pods get IPv6 only and the agents peer
/// over IPv6. VXLAN (`--vxlan-mode`) is IPv4 only.
public struct CalicoProfile: LabProfile, Hashable {
    public static let kind = "calico"
    public var settings: CalicoSettings

    public init(_ settings: CalicoSettings = .standard) { self.settings = settings }

    public var description: String {
        "calico (hold \(settings.holdTime) s, graceful restart \(settings.gracefulRestartTime) s)"
    }

    public var enforcesPolicy: Bool { true }

    public func validate() throws { try settings.validate() }

    /// `<state>/calico.json`, shared by every node's `swift-calico-node`.
    public static func configurationPath(in lab: LabProfileContext) -> String { lab.stateDirectory + "/calico.json" }

    public func prepare(_ lab: LabProfileContext) async throws {
        guard lab.ipFamily != .ipv6 || (settings.vxlanMode ?? .never) == .never else {
            throw LabError(.invalidArgument, "calico's VXLAN is IPv4 only: --vxlan-mode needs --ip-family ipv4 or dual")
        }
        try lab.writeFile(try Self.configuration(settings, family: lab.ipFamily), to: Self.configurationPath(in: lab))
    }

    /// The IPv6 pool of `dual` and `ipv6` labs: a /104 of the lab's IPv6 pod network
    /// (`LabProfileContext.clusterIPv6Network`), small enough for the IPAM's block limit.
    public static let ipv6Pool = "fd00:10:244::/104"
    /// The IPv6 block size (Calico's default for IPv6).
    public static let ipv6BlockSize = 122

    public func agentCommand(for node: LabNode, in lab: LabProfileContext) throws -> AgentCommand? {
        AgentCommand(
            executable: "swift-calico-node",
            arguments: [
                "--node", node.name, "--config", Self.configurationPath(in: lab), "--store", lab.store,
                "--address", lab.ipFamily == .ipv6 ? "none" : node.underlayAddress, "--listen", Self.agentListen,
                "--state-dir", lab.nodeDirectory(node.index) + "/calico-node",
                "--resync-interval-ms", String(settings.resyncIntervalMilliseconds),
                "--policy-status-file", lab.policyStatusPath(node: node.index),
            ] + (lab.ipFamily.hasIPv6 ? ["--address6", try Self.ipv6Address(of: node)] : []) + lab.storeArguments)
    }

    static func ipv6Address(of node: LabNode) throws -> String {
        guard let address = node.underlayIPv6Address else {
            throw LabError(.invalidArgument, "node \(node.index) has no IPv6 underlay address")
        }
        return address
    }

    public func networkConfiguration(for node: LabNode, in lab: LabProfileContext) throws -> NetworkConfigurationList {
        NetworkConfigurationList(cniVersion: "1.0.0", name: "k8s-pod-network", plugins: [
                [
                    "type": "swift-calico", "datastore": .string(lab.store), "nodeName": .string(node.name),
                    "readinessFile": .string(lab.nodeDirectory(node.index) + "/calico-node/ready"),
                    "ipam": .object(ipam(family: lab.ipFamily)),
                ].merging(lab.storeConfiguration) { own, _ in own }
                    // The plugin's MTU comes from configuration: with VXLAN, the underlay's minus 50 bytes.
                    .merging((settings.vxlanMode ?? .never) == .never ? [:] : ["mtu": .integer(1450)]) { own, _ in own }
        ])
    }

    /// The plugin's `calico-ipam` section: the pools of the lab's families, in Calico's names.
    func ipam(family: LabIPFamily) -> [String: JSONValue] {
        var pools: [JSONValue] = []
        if family.hasIPv4 { pools.append(["cidr": .string(settings.effectivePool), "blockSize": .integer(Int64(settings.effectiveBlockSize))]) }
        if family.hasIPv6 { pools.append(["cidr": .string(Self.ipv6Pool), "blockSize": .integer(Int64(Self.ipv6BlockSize))]) }
        return [
            "type": "calico-ipam", "pools": .array(pools),
            "assign_ipv4": .string(family.hasIPv4 ? "true" : "false"), "assign_ipv6": .string(family.hasIPv6 ? "true" : "false"),
        ]
    }

    /// Ready when the agent serves its status socket (it registered and listens).
    public func waitUntilReady(_ node: LabNode, in lab: LabProfileContext) async throws -> String? {
        let socket = lab.nodeDirectory(node.index) + "/calico-node/status.sock"
        _ = try await lab.waitForAgent(of: node.index, "opened no \(socket)") {
            FileManager.default.fileExists(atPath: socket) ? true : nil
        }
        return nil
    }

    public func nodeLeft(_ node: LabNode, in lab: LabProfileContext) async throws {
        try await lab.delete(KeyLayout.node(node.name))
    }

    /// The node's affine blocks as its agent announces them, else the pool.
    public func reportedSubnet(of node: LabNode) -> String? {
        let blocks = Self.blocks(inNamespace: node.networkNamespace)
        return blocks.isEmpty ? settings.effectivePool : blocks.map(\.description).joined(separator: ",")
    }

    /// The agents' configuration in Calico's field names: AS 64512, node-to-node mesh, the
    /// lab's timers, one pool (by default 10.244.0.0/16, /26 blocks; natOutgoing).
    static func configuration(_ settings: CalicoSettings, family: LabIPFamily = .ipv4) throws -> String {
        try settings.validate()
        let keepalive = max(1, settings.holdTime / 3)
        let ipv6Pool = family.hasIPv6 ? #",{"cidr":"\#(ipv6Pool)","blockSize":\#(ipv6BlockSize),"natOutgoing":true}"# : ""
        return """
            {"bgp":{"asNumber":\(asNumber),"nodeToNodeMeshEnabled":true,"listenPort":179,\
            "holdTime":\(settings.holdTime),"keepaliveTime":\(keepalive),"gracefulRestartTime":\(settings.gracefulRestartTime),\
            "connectRetryTime":\(settings.connectRetryTime)},
             "ipPools":[{"cidr":"\(settings.effectivePool)","blockSize":\(settings.effectiveBlockSize),"natOutgoing":true\
            \(settings.vxlanMode.map { ",\"vxlanMode\":\"\($0.calicoName)\"" } ?? "")}\(ipv6Pool)]}

            """
    }

    /// The blocks affine to a calico node, as its agent announces them: the blackhole routes
    /// it installs per local block (`ip route show proto 93` in the node, IPv4 then IPv6).
    /// Empty when the node has no pods yet (or its agent never ran).
    static func blocks(inNamespace name: String) -> [IPNetwork] {
        guard let namespace = try? NetworkNamespace.open(name: name),
            let netlink = try? NetlinkHandle(namespace: namespace)
        else { return [] }
        return [IPAddress.Family.v4, .v6].flatMap { family in
            let routes = (try? netlink.routes(family: family, protocolTag: Route.ProtocolTag(blockProtocol))) ?? []
            return routes.map(\.destination).sorted { $0.description < $1.description }
        }
    }

    /// The calico profile's AS (Calico's default).
    static let asNumber = 64512
    /// The IPAM block size (Calico's default for IPv4).
    static let blockSize = 26
    /// Where each node's agent serves /healthz and /metrics, inside its node namespace.
    static let agentListen = "127.0.0.1:9099"
    /// swift-calico-node's blackhole routes per local block (`proto 93`).
    static let blockProtocol: UInt8 = 93
}

/// A Calico IP pool's `vxlanMode` (`cnilab up --vxlan-mode never|always|cross-subnet`).
public enum CalicoVXLANMode: String, Codable, Hashable, Sendable, CaseIterable {
    case never
    case always
    case crossSubnet = "cross-subnet"

    /// The name in Calico's IPPool: `Never`, `Always`, `CrossSubnet`.
    public var calicoName: String {
        switch self {
        case .never: "Never"
        case .always: "Always"
        case .crossSubnet: "CrossSubnet"
        }
    }
}

/// The BGP timers of the calico profile's agents (written to `calico.json`).
public struct CalicoSettings: Codable, Hashable, Sendable {
    /// BGP hold time in seconds (keepalives every third of it); 0 or ≥ 3.
    public var holdTime: Int
    /// Seconds between connection attempts to a peer that is down.
    public var connectRetryTime: Int
    /// Seconds the peers keep a killed agent's routes (stale) before sweeping them, and the
    /// agent keeps its own learned routes after a restart until they are learned again.
    public var gracefulRestartTime: Int
    /// How often the agent re-reads the store (milliseconds).
    public var resyncIntervalMilliseconds: Int
    /// The IP pool (`cnilab up --pool`); nil: the lab's cluster network, 10.244.0.0/16.
    public var pool: String?
    /// The IPAM block size (`cnilab up --block-size`); nil: 26, Calico's default. A pool with
    /// fewer blocks than nodes makes nodes borrow addresses from other nodes' blocks.
    public var blockSize: Int?
    /// The pool's VXLAN encapsulation (`cnilab up --vxlan-mode`; nil: never, routes only).
    public var vxlanMode: CalicoVXLANMode?

    public init(
        holdTime: Int = 9, connectRetryTime: Int = 2, gracefulRestartTime: Int = 30, resyncIntervalMilliseconds: Int = 1_000,
        pool: String? = nil, blockSize: Int? = nil, vxlanMode: CalicoVXLANMode? = nil
    ) {
        self.vxlanMode = vxlanMode
        self.holdTime = holdTime
        self.connectRetryTime = connectRetryTime
        self.gracefulRestartTime = gracefulRestartTime
        self.resyncIntervalMilliseconds = resyncIntervalMilliseconds
        self.pool = pool
        self.blockSize = blockSize
    }

    /// The pool in effect.
    public var effectivePool: String { pool ?? LabProfiles.clusterNetwork }
    /// The block size in effect.
    public var effectiveBlockSize: Int { blockSize ?? CalicoProfile.blockSize }

    /// For people using a lab: a 9 s hold time (a dead peer is noticed within seconds, still
    /// tolerant of a loaded machine) and 30 s of graceful restart (Calico's own defaults are
    /// 90 s and 120 s, long for a lab).
    public static let standard = CalicoSettings()

    /// For tests: 3 s hold time, 1 s connect retry, 5 s graceful restart, 300 ms resync.
    public static let fast = CalicoSettings(holdTime: 3, connectRetryTime: 1, gracefulRestartTime: 5, resyncIntervalMilliseconds: 300)

    /// Throws `LabError` `invalidArgument` for a timer out of range.
    public func validate() throws(LabError) {
        guard holdTime == 0 || (3...65_535).contains(holdTime) else {
            throw LabError(.invalidArgument, "the BGP hold time is 0 or 3–65535 s, not \(holdTime)")
        }
        guard (1...3_600).contains(connectRetryTime) else {
            throw LabError(.invalidArgument, "the connect retry time is 1–3600 s, not \(connectRetryTime)")
        }
        guard (1...4_095).contains(gracefulRestartTime) else {
            // RFC 4724: the restart time is a 12-bit field.
            throw LabError(.invalidArgument, "the graceful restart time is 1–4095 s, not \(gracefulRestartTime)")
        }
        guard (50...60_000).contains(resyncIntervalMilliseconds) else {
            throw LabError(.invalidArgument, "the resync interval is 50–60000 ms, not \(resyncIntervalMilliseconds)")
        }
        guard let network = IPNetwork(effectivePool), network.family == .v4, network.network == network else {
            throw LabError(.invalidArgument, "the pool is an IPv4 network such as 10.244.0.0/16, not \(effectivePool)")
        }
        guard (network.prefixLength...30).contains(effectiveBlockSize), effectiveBlockSize - network.prefixLength <= 24 else {
            throw LabError(.invalidArgument, "the block size is /\(network.prefixLength)–/30 for pool \(network), not /\(effectiveBlockSize)")
        }
    }
}
