import Datastore
import NetPrimitives
import Testing
@testable import swift_calico_node

/// The peers Calico's BGPConfiguration, BGPPeers and node labels / cluster IDs give a node (pure, no root).
struct BGPPeerPlanTests {
    static func node(_ index: Int, labels: [String: String] = [:], cluster: String? = nil, asNumber: UInt32? = nil) -> BGPPeerPlan.Node {
        BGPPeerPlan.Node(
            name: "node-\(index)", address: IPAddress("192.168.0.\(10 + index)")!, asNumber: asNumber, labels: labels,
            routeReflectorClusterID: cluster.flatMap(IPv4Address.init))
    }

    /// Five nodes; node-0 and node-1 route reflectors of cluster 244.0.0.1, labelled `route-reflector=true`.
    static let reflected: [BGPPeerPlan.Node] = (0..<5).map {
        $0 < 2 ? node($0, labels: ["route-reflector": "true"], cluster: "244.0.0.1") : node($0, labels: ["zone": "a"])
    }
    static let meshOff = BGPConfigurationRecord(nodeToNodeMeshEnabled: false)
    static let toReflectors = BGPPeerRecord(name: "peer-with-route-reflectors", nodeSelector: "all()", peerSelector: "route-reflector == 'true'")

    @Test func fullMeshByDefault() {
        let plan = BGPPeerPlan(for: "node-2", nodes: Self.reflected, configuration: nil, bgpPeers: [])
        #expect(plan.meshEnabled && plan.problems.isEmpty)
        #expect(plan.peers.map(\.node) == ["node-0", "node-1", "node-3", "node-4"])
        #expect(plan.peers.allSatisfy { $0.kind == .nodeMesh && $0.asNumber == 64512 && $0.port == 179 && !$0.routeReflectorClient })
        // The higher address waits for the lower one to connect.
        #expect(plan.peers.map(\.passive) == [true, true, false, false])
    }

    @Test func meshDisabledWithoutPeersHasNoPeers() {
        #expect(BGPPeerPlan(for: "node-2", nodes: Self.reflected, configuration: Self.meshOff, bgpPeers: []).peers.isEmpty)
        // The file's nodeToNodeMeshEnabled applies when there is no BGPConfiguration.
        #expect(BGPPeerPlan(for: "node-2", nodes: Self.reflected, configuration: nil, bgpPeers: [], meshDefault: false).peers.isEmpty)
    }

    @Test func routeReflectorsPeerWithEveryNodeAndClientsWithTheReflectors() {
        for index in 2..<5 {
            let plan = BGPPeerPlan(for: "node-\(index)", nodes: Self.reflected, configuration: Self.meshOff, bgpPeers: [Self.toReflectors])
            #expect(plan.clusterID == nil)
            #expect(plan.peers.map(\.node) == ["node-0", "node-1"])
            #expect(plan.peers.allSatisfy { $0.kind == .nodeSpecific && !$0.routeReflectorClient && $0.resource == "peer-with-route-reflectors" })
        }
        for index in 0..<2 {
            let plan = BGPPeerPlan(for: "node-\(index)", nodes: Self.reflected, configuration: Self.meshOff, bgpPeers: [Self.toReflectors])
            #expect(plan.clusterID == IPv4Address("244.0.0.1"))
            #expect(plan.peers.count == 4)
            // Clients: the nodes without a cluster ID; the other reflector (same cluster) is a plain peer.
            #expect(plan.peers.filter(\.routeReflectorClient).map(\.node) == ["node-2", "node-3", "node-4"])
            #expect(plan.peers.filter { !$0.routeReflectorClient }.map(\.node) == ["node-\(1 - index)"])
        }
    }

    @Test func nodeSelectorAndNodeChooseWhichNodesPeer() {
        let zoneA = BGPPeerRecord(name: "zone-a-tor", nodeSelector: "zone == 'a'", peerIP: "192.168.0.1", asNumber: 65001, password: .init(value: "pw"))
        let single = BGPPeerRecord(name: "n3-only", node: "node-3", peerIP: "[192.168.0.2]:1179", asNumber: 65002)
        let two = BGPPeerPlan(for: "node-2", nodes: Self.reflected, configuration: Self.meshOff, bgpPeers: [zoneA, single])
        #expect(two.peers == [
            .init(address: IPAddress("192.168.0.1"), port: 179, asNumber: 65001, password: "pw", routeReflectorClient: false, passive: false,
                  kind: .nodeSpecific, node: nil, resource: "zone-a-tor")
        ])
        let three = BGPPeerPlan(for: "node-3", nodes: Self.reflected, configuration: Self.meshOff, bgpPeers: [zoneA, single])
        #expect(three.peers.map(\.address) == [IPAddress("192.168.0.1"), IPAddress("192.168.0.2")])
        #expect(three.peers[1].port == 1179 && three.peers[1].asNumber == 65002)
        #expect(BGPPeerPlan(for: "node-0", nodes: Self.reflected, configuration: Self.meshOff, bgpPeers: [zoneA, single]).peers.isEmpty)
    }

    @Test func aBGPPeerOverridesTheMeshAndTheDefaultASApplies() {
        let nodes = [Self.node(0), Self.node(1), Self.node(2, asNumber: 65010)]
        let tor = BGPPeerRecord(name: "node-1-with-password", peerIP: "192.168.0.11", asNumber: 64513, password: .init(value: "pw"))
        let plan = BGPPeerPlan(for: "node-0", nodes: nodes, configuration: BGPConfigurationRecord(asNumber: 64513), bgpPeers: [tor])
        #expect(plan.peers.map(\.asNumber) == [64513, 65010])
        #expect(plan.peers[0].password == "pw" && plan.peers[0].kind == .global && plan.peers[0].node == "node-1")
        #expect(plan.peers[1].kind == .nodeMesh && plan.peers[1].password == nil)
    }

    @Test func badResourcesAreReportedAndSkipped() {
        let peers = [
            BGPPeerRecord(name: "bad-selector", nodeSelector: "zone ==", peerIP: "192.168.0.1", asNumber: 1),
            BGPPeerRecord(name: "bad-ip", peerIP: "not-an-address", asNumber: 1),
            BGPPeerRecord(name: "no-as", peerIP: "192.168.0.1"),
            BGPPeerRecord(name: "both", peerIP: "192.168.0.1", asNumber: 1, peerSelector: "all()"),
            BGPPeerRecord(name: "secret", peerIP: "192.168.0.3", asNumber: 1, password: .init(secretKeyRef: .init(name: "s", key: "k"))),
        ]
        let plan = BGPPeerPlan(for: "node-2", nodes: Self.reflected, configuration: Self.meshOff, bgpPeers: peers)
        #expect(plan.peers.map(\.resource) == ["secret"] && plan.peers[0].password == nil)
        #expect(plan.problems.count == 5, "\(plan.problems)")
        for name in ["bad-selector", "bad-ip", "no-as", "both", "secret"] {
            #expect(plan.problems.contains { $0.hasPrefix("BGPPeer \(name):") }, "\(name): \(plan.problems)")
        }
        #expect(BGPPeerPlan(for: "node-9", nodes: Self.reflected, configuration: nil, bgpPeers: []).peers.isEmpty)
    }

    @Test func nodeRecordsBecomePlannerNodes() {
        let (node, problem) = BGPPeerPlan.node(
            NodeRecord(name: "n", addresses: ["10.0.0.1"], asNumber: 65000, bgpPort: 1179, labels: ["a": "b"], routeReflectorClusterID: "244.0.0.1"))
        #expect(problem == nil && node == BGPPeerPlan.Node(
            name: "n", address: IPAddress("10.0.0.1"), asNumber: 65000, port: 1179, labels: ["a": "b"],
            routeReflectorClusterID: IPv4Address("244.0.0.1")))
        let bad = BGPPeerPlan.node(NodeRecord(name: "n", addresses: ["10.0.0.1"], routeReflectorClusterID: "x"))
        #expect(bad.node?.routeReflectorClusterID == nil && bad.problem != nil)
        #expect(BGPPeerPlan.node(NodeRecord(name: "n", addresses: [])).node == nil)
    }
}
