import Datastore
import Foundation
import TestSupport
import Testing

/// Calico's BGPConfiguration and BGPPeer records and the node's BGP fields, on the real file store.
@Suite struct BGPRecordTests {
    @Test func recordsKeepCalicoFieldNamesAndUnknownFields() throws {
        let peerJSON = #"{"asNumber":65001,"keepOriginalNextHop":true,"name":"tor","node":"n1","password":{"secretKeyRef":{"key":"k","name":"s"},"value":"pw"},"peerIP":"192.168.0.1"}"#
        let peer = try BGPPeerRecord(decoding: Array(peerJSON.utf8), key: "/swiftcni/bgp/peers/tor")
        #expect(peer.peerIP == "192.168.0.1" && peer.asNumber == 65001 && peer.node == "n1" && peer.password?.value == "pw")
        #expect(peer.password?.secretKeyRef == .init(name: "s", key: "k"))
        #expect(peer.unknownFields["keepOriginalNextHop"] == .bool(true))
        #expect(String(decoding: try peer.encoded(), as: UTF8.self) == peerJSON)

        let selected = try BGPPeerRecord(
            decoding: Array(#"{"nodeSelector":"all()","peerSelector":"route-reflector == 'true'"}"#.utf8), key: "/swiftcni/bgp/peers/rr")
        #expect(selected.name == "rr" && selected.nodeSelector == "all()" && selected.peerSelector == "route-reflector == 'true'")

        let configuration = try BGPConfigurationRecord(
            decoding: Array(#"{"asNumber":64513,"nodeToNodeMeshEnabled":false,"serviceClusterIPs":[{"cidr":"10.96.0.0/12"}]}"#.utf8),
            key: "/swiftcni/bgp/configurations/default")
        #expect(configuration.name == "default" && !configuration.meshEnabled && configuration.asNumber == 64513)
        #expect(configuration.unknownFields["serviceClusterIPs"] != nil)
        #expect(BGPConfigurationRecord().meshEnabled)

        let node = try NodeRecord(
            decoding: Array(#"{"addresses":["10.0.0.1"],"labels":{"route-reflector":"true"},"routeReflectorClusterID":"244.0.0.1"}"#.utf8),
            key: "/swiftcni/nodes/n1")
        #expect(node.labels == ["route-reflector": "true"] && node.routeReflectorClusterID == "244.0.0.1")
    }

    @Test func corruptRecordsAreErrorsNamingTheirKeys() async throws {
        try await withTemporaryDirectory { directory in
            let store = try FileDatastore(directory: directory)
            let registry = ClusterRegistry(store: store)
            try await store.put("/swiftcni/bgp/configurations/default", string: #"{"nodeToNodeMeshEnabled":"no"}"#)
            try await store.put("/swiftcni/bgp/peers/bad", string: #"{"asNumber":-1}"#)
            try await registry.put(BGPPeerRecord(name: "good", peerIP: "192.168.0.1", asNumber: 65001))
            do {
                _ = try await registry.bgpConfiguration()
                Issue.record("read a corrupt BGPConfiguration")
            } catch let error as DatastoreError {
                #expect(error.code == .malformedRecord && error.key == "/swiftcni/bgp/configurations/default")
            }
            await #expect(throws: DatastoreError.self) { _ = try await registry.bgpPeers() }
            var malformed: [String?] = []
            let peers = try await registry.bgpPeers(reportingMalformed: { malformed.append($0.key) })
            #expect(peers.map(\.name) == ["good"] && malformed == ["/swiftcni/bgp/peers/bad"])
        }
    }

    @Test func registeringANodeKeepsItsLabelsClusterIDAndUnknownFields() async throws {
        try await withTemporaryDirectory { directory in
            let registry = ClusterRegistry(store: try FileDatastore(directory: directory))
            try await registry.put(
                NodeRecord(
                    name: "n1", addresses: ["10.0.0.9"], labels: ["route-reflector": "true"], routeReflectorClusterID: "244.0.0.1",
                    unknownFields: ["wireguardPublicKey": .string("aa:bb:cc:dd:ee:ff")]))
            let written = try await registry.register(NodeRecord(name: "n1", addresses: ["10.0.0.1"], asNumber: 64512))
            #expect(try await registry.node("n1") == written)
            #expect(written.addresses == ["10.0.0.1"] && written.asNumber == 64512 && written.labels == ["route-reflector": "true"])
            #expect(written.routeReflectorClusterID == "244.0.0.1" && written.unknownFields["wireguardPublicKey"] == .string("aa:bb:cc:dd:ee:ff"))
        }
    }
}
