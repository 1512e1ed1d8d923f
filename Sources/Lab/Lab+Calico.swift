import Foundation
import Namespaces
import NetPrimitives
import Netlink

/// The calico profile: the agents' configuration file and what a node's blocks are.
extension Lab {
    /// `<state>/calico.json`, shared by every node's `swift-calico-node`.
    nonisolated var calicoConfigurationPath: String { stateDirectory + "/calico.json" }

    /// The agents' configuration in Calico's field names: AS 64512, node-to-node mesh, the
    /// lab's timers, one pool (10.244.0.0/16, /26 blocks, natOutgoing).
    static func calicoConfiguration(_ settings: CalicoSettings) throws -> String {
        try settings.validate()
        let keepalive = max(1, settings.holdTime / 3)
        return """
            {"bgp":{"asNumber":\(LabAddressing.calicoASNumber),"nodeToNodeMeshEnabled":true,"listenPort":179,\
            "holdTime":\(settings.holdTime),"keepaliveTime":\(keepalive),"gracefulRestartTime":\(settings.gracefulRestartTime),\
            "connectRetryTime":\(settings.connectRetryTime)},
             "ipPools":[{"cidr":"\(LabAddressing.clusterNetwork)","blockSize":\(LabAddressing.calicoBlockSize),"natOutgoing":true}]}

            """
    }

    /// The blocks affine to a calico node, as its agent announces them: the blackhole routes
    /// it installs per local block (`ip route show proto 93` in the node). Empty when the
    /// node has no pods yet (or its agent never ran).
    nonisolated static func calicoBlocks(inNamespace name: String) -> [IPNetwork] {
        guard let namespace = try? NetworkNamespace.open(name: name),
            let netlink = try? NetlinkHandle(namespace: namespace),
            let routes = try? netlink.routes(family: .v4, protocolTag: Route.ProtocolTag(LabAddressing.calicoBlockProtocol))
        else { return [] }
        return routes.map(\.destination).sorted { $0.description < $1.description }
    }

    /// What `status` shows as a calico node's subnet: its affine blocks, else the pool.
    nonisolated static func calicoSubnet(inNamespace name: String) -> String {
        let blocks = calicoBlocks(inNamespace: name)
        return blocks.isEmpty ? LabAddressing.clusterNetwork : blocks.map(\.description).joined(separator: ",")
    }

    /// Waits until node I's agent serves its status socket (it registered and listens).
    func waitForCalicoAgent(node index: Int, timeoutMilliseconds: Int = 20_000) async throws {
        let socket = nodeDirectory(index) + "/calico-node/status.sock"
        var waited = 0
        while waited < timeoutMilliseconds {
            if FileManager.default.fileExists(atPath: socket) { return }
            if let agent = try nodeRecord(index).agent, !ProcessSupervisor.isRunning(agent) {
                throw LabError(.process, "the agent of node \(index) exited; see \(agentLogPath(index))\(Self.logTail(agentLogPath(index)))")
            }
            try await Task.sleep(for: .milliseconds(50))
            waited += 50
        }
        throw LabError(.timedOut, "node \(index)'s agent opened no \(socket) in \(timeoutMilliseconds) ms; see \(agentLogPath(index))\(Self.logTail(agentLogPath(index)))")
    }
}

extension LabAddressing {
    /// The calico profile's AS (Calico's default).
    static let calicoASNumber = 64512
    /// The calico profile's IPAM block size (Calico's default for IPv4).
    static let calicoBlockSize = 26
    /// Where each node's agent serves /healthz and /metrics, inside its node namespace.
    static let calicoAgentListen = "127.0.0.1:9099"
    /// swift-calico-node's blackhole routes per local block (`proto 93`).
    static let calicoBlockProtocol: UInt8 = 93
}
