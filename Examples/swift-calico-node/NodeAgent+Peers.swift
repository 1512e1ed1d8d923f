import BGP
import Datastore
import NetPrimitives

extension NodeAgent {
    /// Reads the nodes, the BGPConfiguration `default` and the BGPPeers, plans this node's
    /// peers (``BGPPeerPlan``) and applies the difference to the speaker: the cluster ID when
    /// this node is a route reflector, removed peers, added ones, and changed ones (removed and
    /// added again). Peers of the configuration file (`peers`) are left to the file.
    func reconcilePeers() async throws {
        let registry = ClusterRegistry(store: store)
        let logger = self.logger
        let records = try await registry.nodes(reportingMalformed: { logger.warning("skipping a node: \($0)") })
        var nodes: [BGPPeerPlan.Node] = []
        var problems: [String] = []
        if let kube {
            // Not listed yet: keep the current peers (the first list wakes the loop again).
            guard await kube.isSynced() else { return }
            // The API's Nodes make the mesh; labels and cluster IDs come from the node records.
            let stored = Dictionary(records.map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first })
            for node in await kube.meshNodes() {
                var record = stored[node.name] ?? NodeRecord(name: node.name, addresses: [])
                record.addresses = ["\(node.address)"]
                record.asNumber = node.asNumber
                let (planned, problem) = BGPPeerPlan.node(record)
                if let planned { nodes.append(planned) }
                if let problem { problems.append(problem) }
            }
            // The API's list leaves this node out.
            var local = stored[node] ?? NodeRecord(name: node, addresses: [])
            local.addresses = ["\(address)"]
            if let planned = BGPPeerPlan.node(local).node { nodes.append(planned) }
        } else {
            for record in records {
                let (planned, problem) = BGPPeerPlan.node(record)
                if let planned { nodes.append(planned) }
                if let problem { problems.append(problem) }
            }
        }
        let bgpConfiguration: BGPConfigurationRecord?
        do { bgpConfiguration = try await registry.bgpConfiguration() } catch {
            logger.warning("ignoring the BGPConfiguration: \(error)")
            bgpConfiguration = nil
        }
        let bgpPeers = try await registry.bgpPeers(reportingMalformed: { logger.warning("skipping a BGPPeer: \($0)") })
        let plan = BGPPeerPlan(
            for: node, nodes: nodes, configuration: bgpConfiguration, bgpPeers: bgpPeers, meshDefault: configuration.meshEnabled,
            defaultPort: configuration.listenPort)
        for problem in plan.problems + problems where !reportedProblems.contains(problem) {
            logger.warning("\(problem)")
        }
        reportedProblems = Set(plan.problems + problems)
        try await apply(plan)
    }

    func apply(_ plan: BGPPeerPlan) async throws {
        if plan.clusterID != appliedClusterID {
            try await speaker.setClusterID(plan.clusterID)
            logger.info("route reflector cluster ID: \(plan.clusterID.map { "\($0)" } ?? "none")")
            appliedClusterID = plan.clusterID
        }
        let fileAddresses = Set(globalPeers.map(\.address))
        let desired = Dictionary(
            plan.peers.filter { !fileAddresses.contains($0.address) }.map { ($0.address, $0) }, uniquingKeysWith: { first, _ in first })
        for (address, peer) in plannedPeers where desired[address] != peer {
            logger.info("\(peer.node.map { "node \($0)" } ?? "peer") (\(address)) \(desired[address] == nil ? "left: removing the peer" : "changed: peering again")")
            try? await speaker.removePeer(address)
            plannedPeers[address] = nil
        }
        for (address, peer) in desired.sorted(by: { $0.key < $1.key }) where plannedPeers[address] == nil {
            let details = [peer.kind.rawValue, peer.routeReflectorClient ? "route reflector client" : nil, peer.passive ? "passive" : nil]
                .compactMap { $0 }.joined(separator: ", ")
            logger.info("\(peer.node.map { "node \($0)" } ?? "peer") (\(address)) joined: peering (\(details))")
            try await speaker.addPeer(
                BGPSpeaker.PeerConfiguration(
                    address: address, asNumber: peer.asNumber, port: peer.port, passive: peer.passive, holdTime: configuration.holdTime,
                    connectRetryTime: configuration.connectRetryTime, password: peer.password,
                    families: families, routeReflectorClient: peer.routeReflectorClient, localAddress: self.address,
                    nextHopIPv6: addresses.ipv6Address))
            plannedPeers[address] = peer
        }
    }
}
