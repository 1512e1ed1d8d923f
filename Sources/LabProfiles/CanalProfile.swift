import CNISpec
import Lab

/// `swift-canald` on every node (it runs `swift-flanneld` for the VXLAN overlay and enforces
/// the store's network policies for its node's pods) and the `swift-canal` plugin: a
/// Calico-style routed veth per pod, addressed from the node's flannel subnet. flannel's VXLAN
/// configuration is written first and a leaving node's lease deleted, as with flannel.
public struct CanalProfile: LabProfile, Hashable {
    public static let kind = "canal"

    /// How often each node's agent re-reads the store in full (seconds; its watch follows
    /// changes in between).
    static let resyncSeconds = 2

    public init() {}

    public var description: String { "canal (flannel vxlan + policy)" }

    public var enforcesPolicy: Bool { true }

    /// flannel's configuration follows the lab's `LabProfileContext.ipFamily` (`dual` adds its
    /// IPv6 network, `ipv6` has it alone), and swift-canal gives each pod an address of each
    /// subnet over the calico-style routed veth (IPv6 via Calico's link-local gateway).
    public func prepare(_ lab: LabProfileContext) async throws {
        try await FlannelNetwork.writeConfiguration(backend: .vxlan, in: lab)
    }

    public func agentCommand(for node: LabNode, in lab: LabProfileContext) throws -> AgentCommand? {
        AgentCommand(
            executable: "swift-canald",
            arguments: [
                "--node", node.name, "--store", lab.store, "--iface", LabProfileContext.underlayDevice,
                "--subnet-file", FlannelNetwork.subnetFile(of: node, in: lab), "--resync-interval", String(Self.resyncSeconds),
                "--policy-status-file", lab.policyStatusPath(node: node.index),
            ] + lab.storeArguments)
    }

    public func networkConfiguration(for node: LabNode, in lab: LabProfileContext) throws -> NetworkConfigurationList {
        NetworkConfigurationList(cniVersion: "1.0.0", name: "canal", plugins: [
            [
                "type": "swift-canal", "subnetFile": .string(FlannelNetwork.subnetFile(of: node, in: lab)),
                "dataDir": .string(lab.nodeDirectory(node.index) + "/canal"), "datastore": .string(lab.store),
                "nodeName": .string(node.name),
            ].merging(lab.storeConfiguration) { own, _ in own }
        ])
    }

    public func waitUntilReady(_ node: LabNode, in lab: LabProfileContext) async throws -> String? {
        try await FlannelNetwork.waitForLease(of: node, in: lab)
    }

    public func nodeLeft(_ node: LabNode, in lab: LabProfileContext) async throws {
        try await FlannelNetwork.deleteLease(of: node, in: lab)
    }
}
