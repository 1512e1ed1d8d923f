import Datastore
import Foundation
import Lab
import LabProfiles
import Testing
import TestSupport

/// Issue 16 item 3: a 5-node calico lab switched from the full mesh to two route reflectors of
/// one cluster with Calico's resources (BGPConfiguration `nodeToNodeMeshEnabled: false`, a
/// BGPPeer with `nodeSelector: all()` and `peerSelector: route-reflector == 'true'`, the
/// reflectors' labels and cluster ID): each other node keeps exactly the 2 sessions to the
/// reflectors, each reflector N-1; every node learns every other node's block with the owner
/// as next hop; every pod reaches every other.
@Suite(.serialized) struct CalicoRouteReflectorLabTests {
    @Test(.privileged) func twoRouteReflectorsReplaceTheMesh() async throws {
        let root = try LabTestSupport.temporaryDirectory()
        let name = LabTestSupport.uniqueLabName()
        let directory = root + "/lab"
        defer {
            _ = try? Lab.down(name: name, stateDirectory: directory)
            try? FileManager.default.removeItem(atPath: root)
        }
        let count = 5
        let lab = try await Lab.up(
            LabConfiguration(name: name, stateDirectory: directory, profile: .calico(.fast), nodeCount: count))
        for reflector in 0..<2 {
            let record = try await lab.setNodeBGP(reflector, labels: ["route-reflector": "true"], routeReflectorClusterID: "244.0.0.1")
            #expect(record.routeReflectorClusterID == "244.0.0.1" && record.labels == ["route-reflector": "true"])
        }
        // With a password: both ends of each session take it from this one BGPPeer (TCP MD5).
        try await lab.putBGPPeer(
            BGPPeerRecord(
                name: "peer-with-route-reflectors", nodeSelector: "all()", peerSelector: "route-reflector == 'true'",
                password: .init(value: "rr-secret")))
        #expect(try await lab.bgpPeers().map(\.password?.value) == ["rr-secret"])
        let configuration = try await lab.setBGPConfiguration(nodeToNodeMeshEnabled: false, asNumber: nil)
        #expect(!configuration.meshEnabled)
        // A bad label change is refused before anything is written.
        await #expect(throws: LabError.self) { try await lab.setNodeBGP(2, labels: [:], routeReflectorClusterID: "not-an-address") }

        var pods: [LabPod] = []
        for index in 0..<count { pods.append(try await lab.addPod(try PodReference(namespace: "x", name: "p\(index)"), node: index)) }

        func sessionsAsExpected() async throws -> Bool {
            for index in 0..<count {
                let sessions = try await lab.bgpSessions(index)
                let expected = index < 2 ? count - 1 : 2
                guard sessions.peers.count == expected, sessions.established == expected else { return false }
                if index >= 2, Set(sessions.peers.compactMap(\.node)) != ["node-0", "node-1"] { return false }
            }
            return true
        }
        let settled = try await CalicoLab.waitUntil(timeoutMilliseconds: 60_000) { try await sessionsAsExpected() }
        var reports: [LabBGPSessions] = []
        for index in 0..<count { reports.append(try await lab.bgpSessions(index)) }
        #expect(settled != nil, "sessions: \(reports)")
        for reflector in reports.prefix(2) {
            #expect(reflector.routeReflectorClusterID == "244.0.0.1")
            // Clients: the three plain nodes; the other reflector (same cluster) is a plain iBGP peer.
            #expect(reflector.peers.filter { $0.routeReflectorClient == true }.compactMap(\.node).sorted() == ["node-2", "node-3", "node-4"])
        }
        for client in reports.dropFirst(2) {
            #expect(client.routeReflectorClusterID == nil && client.peers.allSatisfy { $0.routeReflectorClient != true })
        }

        // Each node learned every other node's block, next hop the owner (reflection keeps it).
        let converged = try await CalicoLab.waitUntil(timeoutMilliseconds: 60_000) {
            try await CalicoLab.converged(lab, observers: Array(0..<count))
        }
        let learned = try await lab.nodes().map { try CalicoLab.bgpRoutes(in: $0.networkNamespace) }
        #expect(converged != nil, "BGP routes: \(learned)")
        let matrix = try await lab.probe(ProbeOptions(timeoutMilliseconds: 1_000))
        #expect(matrix.count == count * (count - 1) * 4)
        #expect(matrix.allSatisfy { $0.connected }, "not connected: \(matrix.filter { !$0.connected })")

        // The mesh back on: every node peers with every other again.
        try await lab.setBGPConfiguration(nodeToNodeMeshEnabled: true, asNumber: nil)
        let meshed = try await CalicoLab.waitUntil(timeoutMilliseconds: 60_000) {
            for index in 0..<count where try await lab.bgpSessions(index).established != count - 1 { return false }
            return true
        }
        #expect(meshed != nil)
    }
}
