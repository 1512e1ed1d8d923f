import CNISpec
import Datastore
import Foundation
import IPAM
import Namespaces
import NetPrimitives

/// What each plugin profile means for the lab: agents, network configuration, store.
extension Lab {
    /// flannel's key prefix in the store.
    static let flannelPrefix = KeyLayout.flannelDefaultPrefix

    /// The agent node `node` runs under the lab's profile, placeholders filled in.
    func agentCommand(node: LabState.NodeRecord) throws -> AgentCommand? {
        let directory = nodeDirectory(node.index)
        switch state.plugin {
        case .reference(let agent):
            guard let agent else { return nil }
            let arguments = agent.arguments.map {
                $0.replacingOccurrences(of: "{node}", with: node.name)
                    .replacingOccurrences(of: "{index}", with: String(node.index))
                    .replacingOccurrences(of: "{state}", with: directory)
                    .replacingOccurrences(of: "{store}", with: state.store)
            }
            return AgentCommand(executable: agent.executable, arguments: arguments)
        case .flannel:
            return AgentCommand(
                executable: "swift-flanneld",
                arguments: [
                    "--node", node.name, "--iface", "eth0", "--store", state.store,
                    "--subnet-file", directory + "/subnet.env",
                ])
        case .calico(let settings):
            return AgentCommand(
                executable: "swift-calico-node",
                arguments: [
                    "--node", node.name, "--config", calicoConfigurationPath, "--store", state.store,
                    "--address", node.underlayAddress, "--listen", LabAddressing.calicoAgentListen,
                    "--state-dir", directory + "/calico-node",
                    "--resync-interval-ms", String(settings.resyncIntervalMilliseconds),
                    "--policy-status-file", policyStatusPath(node: node.index),
                ])
        case .canal:
            return AgentCommand(
                executable: "swift-canald",
                arguments: [
                    "--node", node.name, "--store", state.store, "--iface", "eth0",
                    "--subnet-file", directory + "/subnet.env", "--resync-interval", String(LabAddressing.canalResyncSeconds),
                    "--policy-status-file", policyStatusPath(node: node.index),
                ])
        }
    }

    /// The conflist the runtime runs for pods on node I (also kept in `<node>/network.conflist`).
    func networkConfiguration(node index: Int) throws -> NetworkConfigurationList {
        let directory = nodeDirectory(index)
        switch state.plugin {
        case .reference:
            let subnet = try nodeRecord(index).subnet ?? LabAddressing.referenceSubnet(node: index)
            return NetworkConfigurationList(cniVersion: "1.0.0", name: "cnilab", plugins: [
                [
                    "type": "bridge", "bridge": "cni0", "isGateway": true, "ipMasq": false, "hairpinMode": true,
                    "ipam": [
                        "type": "host-local", "subnet": .string(subnet), "dataDir": .string(directory + "/ipam"),
                        "routes": [["dst": .string(LabAddressing.clusterNetwork)]],
                    ],
                ]
            ])
        case .flannel:
            return NetworkConfigurationList(cniVersion: "1.0.0", name: "cbr0", plugins: [
                [
                    "type": "swift-flannel", "subnetFile": .string(directory + "/subnet.env"),
                    "dataDir": .string(directory + "/flannel"),
                    "delegate": ["hairpinMode": true, "isDefaultGateway": true],
                ]
            ])
        case .calico:
            let node = try nodeRecord(index)
            return NetworkConfigurationList(cniVersion: "1.0.0", name: "k8s-pod-network", plugins: [
                [
                    "type": "swift-calico", "datastore": .string(state.store), "nodeName": .string(node.name),
                    "ipam": [
                        "type": "calico-ipam",
                        "pools": [["cidr": .string(LabAddressing.clusterNetwork), "blockSize": .integer(Int64(LabAddressing.calicoBlockSize))]],
                    ],
                ]
            ])
        case .canal:
            let node = try nodeRecord(index)
            return NetworkConfigurationList(cniVersion: "1.0.0", name: "canal", plugins: [
                [
                    "type": "swift-canal", "subnetFile": .string(directory + "/subnet.env"),
                    "dataDir": .string(directory + "/canal"), "datastore": .string(state.store),
                    "nodeName": .string(node.name),
                ]
            ])
        }
    }

    func writeNetworkConfiguration(node index: Int) throws {
        let bytes = try networkConfiguration(node: index).encoded()
        try Self.writeText(String(decoding: bytes, as: UTF8.self), to: nodeDirectory(index) + "/network.conflist")
    }

    /// Where the runtime finds the profile's plugins.
    var pluginDirectories: [String] { executableDirectories + ["/usr/lib/cni", "/opt/cni/bin"] }

    /// Before the first node: flannel's network configuration goes into the store (flannel,
    /// canal: always VXLAN); calico's
    /// agent configuration file is written.
    func prepareProfile() async throws {
        if case .calico(let settings) = state.plugin {
            try Self.writeText(Self.calicoConfiguration(settings), to: calicoConfigurationPath)
            return
        }
        let backend: FlannelBackend
        switch state.plugin {
        case .flannel(let chosen): backend = chosen
        case .canal: backend = .vxlan
        case .reference, .calico: return
        }
        let config = """
            {"Network":"\(LabAddressing.clusterNetwork)","SubnetLen":24,"Backend":{"Type":"\(backend.rawValue)","VNI":1}}
            """
        try await storePut(KeyLayout.flannelConfig(prefix: Self.flannelPrefix), config)
    }

    /// The last lines of a log, to quote in an error (so the reason survives the lab's removal).
    nonisolated static func logTail(_ path: String, lines: Int = 5) -> String {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { return "" }
        let tail = text.split(separator: "\n").suffix(lines)
        return tail.isEmpty ? "" : "; its last lines:\n" + tail.joined(separator: "\n")
    }

    /// Waits for a flannel agent's subnet.env and records the node's subnet from it.
    func waitForFlannelSubnet(node index: Int, timeoutMilliseconds: Int = 20_000) async throws {
        let path = nodeDirectory(index) + "/subnet.env"
        var waited = 0
        while waited < timeoutMilliseconds {
            do {
                setSubnet(try SubnetEnvironment.load(path: path).subnet.network.description, node: index)
                return
            } catch {
                if (error as? IPAMError)?.code != .notReady { throw LabError(.process, "node \(index): \(error)") }
            }
            if let agent = try nodeRecord(index).agent, !ProcessSupervisor.isRunning(agent) {
                throw LabError(.process, "the agent of node \(index) exited; see \(agentLogPath(index))\(Self.logTail(agentLogPath(index)))")
            }
            try await Task.sleep(for: .milliseconds(50))
            waited += 50
        }
        throw LabError(
            .timedOut, "node \(index)'s agent wrote no \(path) in \(timeoutMilliseconds) ms; see \(agentLogPath(index))\(Self.logTail(agentLogPath(index)))")
    }

    /// The store side of a node leaving, as an admin would: flannel's (and canal's) lease is deleted;
    /// calico's node record, so the other agents drop their session to it.
    func nodeLeft(_ node: LabState.NodeRecord) async throws {
        switch state.plugin {
        case .flannel, .canal:
            guard let subnet = node.subnet else { return }
            try await storeDelete(KeyLayout.flannelSubnet(subnet, prefix: Self.flannelPrefix))
        case .calico:
            try await storeDelete(KeyLayout.node(node.name))
        case .reference:
            return
        }
    }
}

extension LabAddressing {
    /// How often each canal node's agent re-reads the store in full (seconds; its watch
    /// follows changes in between).
    static let canalResyncSeconds = 2
}
