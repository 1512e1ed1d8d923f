import CNISpec
import Datastore
import Foundation
import IPAM
import Lab
import NetPrimitives

/// `swift-flanneld` on every node (store `file:DIR` or etcd) and the `swift-flannel` plugin
/// reading the node's `subnet.env`; flannel's network configuration (10.244.0.0/16, the
/// backend) goes into the store before the first agent starts, and a node that leaves has its
/// lease deleted. The lab's `LabProfileContext.ipFamily` picks flannel's families: `dual`
/// adds `EnableIPv6` with `IPv6Network` `fd00:10:244::/56` (a /64 per node, VTEP
/// `flannel-v6.1` over the IPv6 underlay), `ipv6` also sets `EnableIPv4: false`.
public struct FlannelProfile: LabProfile, Hashable {
    public static let kind = "flannel"
    public var backend: FlannelBackend
    /// Run the agents with `--ip-masq` (flannel's masquerading of traffic leaving the cluster
    /// network, IPv4 and IPv6); nil (the default) and false: without.
    public var ipMasquerade: Bool?

    public init(backend: FlannelBackend = .vxlan, ipMasquerade: Bool? = nil) {
        self.backend = backend
        self.ipMasquerade = ipMasquerade
    }

    public var description: String { "flannel (\(backend.rawValue))" }

    /// host-gw works in every family (IPv6 routes via the nodes' IPv6 underlay addresses on the
    /// fabric's `fd77::/64`), as vxlan does.
    public func prepare(_ lab: LabProfileContext) async throws {
        try await FlannelNetwork.writeConfiguration(backend: backend, in: lab)
    }

    public func agentCommand(for node: LabNode, in lab: LabProfileContext) throws -> AgentCommand? {
        AgentCommand(
            executable: "swift-flanneld",
            arguments: [
                "--node", node.name, "--iface", LabProfileContext.underlayDevice, "--store", lab.store,
                "--subnet-file", FlannelNetwork.subnetFile(of: node, in: lab),
            ] + (ipMasquerade == true ? ["--ip-masq"] : []) + lab.storeArguments)
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
        try await lab.put(KeyLayout.flannelConfig(prefix: prefix), configuration(backend: backend, family: lab.ipFamily))
    }

    /// flannel's network configuration for the lab's family (flannel's key names).
    static func configuration(backend: FlannelBackend, family: LabIPFamily) -> String {
        var keys = [#""Network":"\#(LabProfiles.clusterNetwork)","SubnetLen":24"#]
        if family.hasIPv6 {
            keys.append(#""EnableIPv6":true,"IPv6Network":"\#(LabProfileContext.clusterIPv6Network)","IPv6SubnetLen":64"#)
        }
        if !family.hasIPv4 { keys.append(#""EnableIPv4":false"#) }
        keys.append(#""Backend":{"Type":"\#(backend.rawValue)","VNI":1}"#)
        return "{" + keys.joined(separator: ",") + "}"
    }

    /// Waits for the agent's `subnet.env` with every family the lab has; returns the node's
    /// subnet from it (its network address: the IPv4 one, the IPv6 one in an IPv6-only lab).
    static func waitForLease(of node: LabNode, in lab: LabProfileContext) async throws -> String? {
        let path = subnetFile(of: node, in: lab)
        let family = lab.ipFamily
        return try await lab.waitForAgent(of: node.index, "wrote no \(path) with the lab's families (\(family))") {
            // Not there yet: keep waiting; there but wrong: the agent wrote a bad file, say so.
            do {
                let environment = try SubnetEnvironment.load(path: path)
                guard !family.hasIPv4 || environment.subnet != nil, !family.hasIPv6 || environment.ipv6Subnet != nil else { return nil }
                return environment.podSubnets.first?.description
            } catch let error as IPAMError where error.code == .notReady {
                return nil
            }
        }
    }

    /// The store side of a node leaving, as an admin would: its lease is deleted (the key of
    /// both its subnets, from its `subnet.env`; the recorded subnet when that is gone).
    static func deleteLease(of node: LabNode, in lab: LabProfileContext) async throws {
        let none = try IPNetwork(parsing: "0.0.0.0/0")
        let component: String
        if let environment = try? SubnetEnvironment.load(path: subnetFile(of: node, in: lab)) {
            component = SubnetLease.keyComponent(subnet: environment.subnet?.network ?? none, ipv6Subnet: environment.ipv6Subnet?.network)
        } else if let subnet = node.subnet.flatMap(IPNetwork.init) {
            // Without subnet.env only the recorded subnet is known: a dual-stack key cannot be rebuilt
            // (the store's NodeCleanup, run on `node remove`, releases it by node name anyway).
            component = subnet.family == .v4
                ? SubnetLease.keyComponent(subnet: subnet, ipv6Subnet: nil) : SubnetLease.keyComponent(subnet: none, ipv6Subnet: subnet)
        } else {
            return
        }
        try await lab.delete(KeyLayout.flannelSubnets(prefix: prefix) + component)
    }
}
