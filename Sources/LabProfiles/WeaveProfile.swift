import CNISpec
import Lab
import NetPrimitives
import Weave

/// `swift-weaved` on every node and the `swift-weave` plugin: bridge `weave` with the kernel
/// VXLAN fast path, one flat range (10.32.0.0/12) split among the nodes by the ring. Each agent
/// is given the nodes already up as peers (the mesh finds the rest by gossip); the first node
/// initialises the ring alone, later ones join it as observers. The store carries network
/// policies and pod records only: the agents find each other and share addresses without it.
public struct WeaveProfile: LabProfile, Hashable {
    public static let kind = "weave"

    /// The mesh secret file (from `swift-weaved generate-secret`), given to every agent.
    public var secretFile: String?
    /// Underlay networks whose traffic needs no encryption (CIDRs).
    public var trustedSubnets: [String]

    /// How often the agents re-read the store in full (seconds) and send mesh heartbeats.
    static let resyncSeconds = 2

    public init(secretFile: String? = nil, trustedSubnets: [String] = []) {
        self.secretFile = secretFile
        self.trustedSubnets = trustedSubnets
    }

    public var description: String { secretFile == nil ? "weave" : "weave (encrypted)" }

    public var enforcesPolicy: Bool { true }

    public func validate() throws {
        for subnet in trustedSubnets where (try? IPNetwork(parsing: subnet)) == nil {
            throw LabError(.invalidArgument, "--trusted-subnets: '\(subnet)' is not a CIDR")
        }
    }

    /// The agent's socket on node I (`<state>/nodes/I/weave.sock`).
    public static func socketPath(node index: Int, in lab: LabProfileContext) -> String { lab.nodeDirectory(index) + "/weave.sock" }

    public func agentCommand(for node: LabNode, in lab: LabProfileContext) throws -> AgentCommand? {
        var arguments = [
            "run", "--node", node.name, "--iface", LabProfileContext.underlayDevice,
            "--ipalloc-init", node.index == 0 ? "consensus=1" : "observer",
            "--data-dir", lab.nodeDirectory(node.index) + "/weave", "--socket", Self.socketPath(node: node.index, in: lab),
            "--store", lab.store, "--policy-status-file", lab.policyStatusPath(node: node.index),
            "--resync-interval", String(Self.resyncSeconds), "--heartbeat-interval", String(Self.resyncSeconds),
        ]
        for peer in Self.earlierNodeAddresses(node, subnets: lab.underlaySubnets) { arguments += ["--peer", peer] }
        if let secretFile { arguments += ["--secret-file", secretFile] }
        if !trustedSubnets.isEmpty { arguments += ["--trusted-subnets", trustedSubnets.joined(separator: ",")] }
        return AgentCommand(executable: "swift-weaved", arguments: arguments)
    }

    /// The underlay addresses of nodes 0..<I (nodes that joined before this one), in a lab of
    /// `subnets` underlay subnets. Nodes that left are dialed in vain, which is harmless; the
    /// mesh learns every other peer by gossip.
    static func earlierNodeAddresses(_ node: LabNode, subnets: Int) -> [String] {
        (0..<node.index).map { LabProfileContext.underlayAddress(node: $0, subnets: subnets) }
    }

    public func networkConfiguration(for node: LabNode, in lab: LabProfileContext) throws -> NetworkConfigurationList {
        NetworkConfigurationList(cniVersion: "1.0.0", name: "weave", plugins: [
            [
                "type": "swift-weave", "socket": .string(Self.socketPath(node: node.index, in: lab)), "hairpinMode": true,
                "datastore": .string(lab.store), "nodeName": .string(node.name),
            ]
        ])
    }

    /// Ready once the agent answers on its socket with the bridge's address (the ring is
    /// initialised and gave this node space).
    public func waitUntilReady(_ node: LabNode, in lab: LabProfileContext) async throws -> String? {
        let client = WeaveAgentClient(socketPath: Self.socketPath(node: node.index, in: lab), timeoutSeconds: 2)
        _ = try await lab.waitForAgent(of: node.index, "did not get its bridge address from the ring") {
            (try? client.perform(WeaveAgentRequest(operation: .ping))) != nil ? true : nil
        }
        return nil
    }

    /// Every node shares the one range.
    public func reportedSubnet(of node: LabNode) -> String? { WeaveNames.defaultRange.description }
}

extension LabProfile where Self == WeaveProfile {
    /// `swift-weaved` and `swift-weave` (see ``WeaveProfile``).
    public static func weave(secretFile: String? = nil, trustedSubnets: [String] = []) -> WeaveProfile {
        WeaveProfile(secretFile: secretFile, trustedSubnets: trustedSubnets)
    }
}
