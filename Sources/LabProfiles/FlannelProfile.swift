import CNISpec
import Datastore
import Foundation
import IPAM
import Lab
import NetPrimitives

/// `swift-flanneld` on every node (store `file:DIR` or etcd) and the `swift-flannel` plugin
/// reading the node's `subnet.env`; flannel's network configuration (10.244.0.0/16, the
/// backend) goes into the store before the first agent starts, and a node that leaves has its
/// lease deleted.
public struct FlannelProfile: LabProfile, Hashable {
    public static let kind = "flannel"
    public var backend: FlannelBackend

    public init(backend: FlannelBackend = .vxlan) { self.backend = backend }

    public var description: String { "flannel (\(backend.rawValue))" }

    public func prepare(_ lab: LabProfileContext) async throws {
        try await FlannelNetwork.writeConfiguration(backend: backend, in: lab)
    }

    public func agentCommand(for node: LabNode, in lab: LabProfileContext) throws -> AgentCommand? {
        AgentCommand(
            executable: "swift-flanneld",
            arguments: [
                "--node", node.name, "--iface", LabProfileContext.underlayDevice, "--store", lab.store,
                "--subnet-file", FlannelNetwork.subnetFile(of: node, in: lab),
            ] + lab.storeArguments)
    }

    public func networkConfiguration(for node: LabNode, in lab: LabProfileContext) throws -> NetworkConfigurationList {
        let directory = lab.nodeDirectory(node.index)
        return NetworkConfigurationList(cniVersion: "1.0.0", name: "cbr0", plugins: [
            [
                "type": "swift-flannel", "subnetFile": .string(FlannelNetwork.subnetFile(of: node, in: lab)),
                "dataDir": .string(directory + "/flannel"),
                "delegate": ["hairpinMode": true, "isDefaultGateway": true],
            ]
        ])
    }

    public func waitUntilReady(_ node: LabNode, in lab: LabProfileContext) async throws -> String? {
        try await FlannelNetwork.waitForLease(of: node, in: lab)
    }

    public func nodeLeft(_ node: LabNode, in lab: LabProfileContext) async throws {
        try await FlannelNetwork.deleteLease(of: node, in: lab)
    }
}

/// flannel's backends.
public enum FlannelBackend: String, Codable, Hashable, Sendable, CaseIterable {
    case vxlan
    case hostGateway = "host-gw"
}

/// What the flannel and canal profiles share: flannel's configuration in the store, the
/// agent's `subnet.env`, the node's lease.
enum FlannelNetwork {
    /// flannel's key prefix in the store.
    static let prefix = KeyLayout.flannelDefaultPrefix

    static func subnetFile(of node: LabNode, in lab: LabProfileContext) -> String { lab.nodeDirectory(node.index) + "/subnet.env" }

    static func writeConfiguration(backend: FlannelBackend, in lab: LabProfileContext) async throws {
        let config = """
            {"Network":"\(LabProfiles.clusterNetwork)","SubnetLen":24,"Backend":{"Type":"\(backend.rawValue)","VNI":1}}
            """
        try await lab.put(KeyLayout.flannelConfig(prefix: prefix), config)
    }

    /// Waits for the agent's `subnet.env`; returns the node's subnet (its network address) from it.
    static func waitForLease(of node: LabNode, in lab: LabProfileContext) async throws -> String? {
        let path = subnetFile(of: node, in: lab)
        return try await lab.waitForAgent(of: node.index, "wrote no \(path)") {
            // Not there yet: keep waiting; there but wrong: the agent wrote a bad file, say so.
            do {
                return try SubnetEnvironment.load(path: path).subnet.network.description
            } catch let error as IPAMError where error.code == .notReady {
                return nil
            }
        }
    }

    /// The store side of a node leaving, as an admin would: its lease is deleted.
    static func deleteLease(of node: LabNode, in lab: LabProfileContext) async throws {
        guard let subnet = node.subnet else { return }
        try await lab.delete(KeyLayout.flannelSubnet(subnet, prefix: prefix))
    }
}
