import CNISpec
import Lab

/// The reference `bridge` + `host-local` plugins (from `/usr/lib/cni`), one /24 per node
/// (10.244.(I+1).0/24 on node I), and host-gw style static routes between the nodes that the
/// lab programs itself (`LabProfileContext.programStaticRoutes()`). `agent`, when given,
/// is run on every node as a stand-in agent so agent commands can be exercised without a real one
/// (`{node}`, `{index}`, `{state}`, `{store}` in its arguments are filled in).
public struct ReferenceProfile: LabProfile, Hashable {
    public static let kind = "reference"
    public var agent: AgentCommand?

    public init(agent: AgentCommand? = nil) { self.agent = agent }

    public func initialSubnet(of node: LabNode, in lab: LabProfileContext) throws -> String? {
        LabProfiles.referenceSubnet(node: node.index)
    }

    public func agentCommand(for node: LabNode, in lab: LabProfileContext) throws -> AgentCommand? {
        agent.map { lab.expand($0, node: node) }
    }

    public func networkConfiguration(for node: LabNode, in lab: LabProfileContext) throws -> NetworkConfigurationList {
        let subnet = node.subnet ?? LabProfiles.referenceSubnet(node: node.index)
        return NetworkConfigurationList(cniVersion: "1.0.0", name: "cnilab", plugins: [
            [
                "type": "bridge", "bridge": "cni0", "isGateway": true, "ipMasq": false, "hairpinMode": true,
                "ipam": [
                    "type": "host-local", "subnet": .string(subnet), "dataDir": .string(lab.nodeDirectory(node.index) + "/ipam"),
                    "routes": [["dst": .string(LabProfiles.clusterNetwork)]],
                ],
            ]
        ])
    }

    public func nodesChanged(_ lab: LabProfileContext) async throws { try await lab.programStaticRoutes() }
}
