import Datastore
import NetPrimitives
import Policy
import Testing
@testable import PolicyAgent

/// The pure mapping from stored keys to the enforcer's policies and cluster.
@Suite("Policy snapshot")
struct PolicySnapshotTests {
    static func item(_ key: String, _ value: String, revision: Int64 = 1) -> KeyValue {
        KeyValue(key: key, value: Array(value.utf8), createRevision: revision, modRevision: revision, version: 1)
    }

    static let policy = """
        {"apiVersion":"networking.k8s.io/v1","kind":"NetworkPolicy","metadata":{"name":"web","namespace":"x"},
         "spec":{"podSelector":{"matchLabels":{"app":"web"}},"ingress":[{"from":[{"podSelector":{"matchLabels":{"app":"client"}}}]}]}}
        """

    static func items() -> [KeyValue] {
        [
            item("/swiftcni/pods/x/a", #"{"namespace":"x","name":"a","node":"n1","containerID":"c1","addresses":["10.1.0.2"],"labels":{"app":"old"},"hostInterface":"cali1","ports":[{"name":"http","port":8080},{"name":"dns","port":53,"protocol":"UDP"},{"name":"odd","port":1,"protocol":"NOPE"}]}"#),
            // The lab's record shape: no host interface.
            item("/swiftcni/pods/x/b", #"{"namespace":"x","name":"b","node":"n1","containerID":"c2","addresses":["10.1.0.3/32"],"labels":{"app":"client"}}"#),
            item("/swiftcni/pods/y/c", #"{"namespace":"y","name":"c","node":"n2","addresses":["10.2.0.2"],"hostInterface":"cali9"}"#),
            item("/swiftcni/labels/pod/x/a", #"{"app":"web"}"#),
            item("/swiftcni/labels/namespace/_cluster/x", #"{"team":"blue","kubernetes.io/metadata.name":"x"}"#),
            item("/swiftcni/nodes/n1", #"{"name":"n1","addresses":["192.168.0.1"],"podCIDRs":["10.1.0.0/24"]}"#),
            item(PolicyStoreKeys.kubernetesPolicy(namespace: "x", name: "web"), policy),
            item("/swiftcni/ipam/blocks/10.1.0.0-26", "{}"),
        ]
    }

    @Test func mapsPodsLabelsAndInterfaces() throws {
        let snapshot = PolicySnapshot(Self.items())
        #expect(snapshot.values["/swiftcni/ipam/blocks/10.1.0.0-26"] == nil)
        let (cluster, errors) = snapshot.cluster(node: "n1") { record in
            record.name == "b" ? InterfaceName("calib") : nil
        }
        #expect(errors.isEmpty)
        let a = try #require(cluster[EndpointID(namespace: "x", name: "a")])
        #expect(a.labels == ["app": "web"])  // the labels key wins over the record's copy
        #expect(a.namespaceLabels["team"] == "blue")
        #expect(a.interfaceName?.description == "cali1")
        #expect(a.addresses == [try IPAddress(parsing: "10.1.0.2")])
        // Named container ports: TCP by default; an unknown protocol is skipped.
        #expect(a.namedPorts == [NamedPort(name: "http", port: 8080), NamedPort(name: "dns", port: 53, protocol: .udp)])
        let b = try #require(cluster[EndpointID(namespace: "x", name: "b")])
        #expect(b.interfaceName?.description == "calib")
        #expect(b.addresses == [try IPAddress(parsing: "10.1.0.3")])
        #expect(b.labels == ["app": "client"])
        #expect(b.namedPorts.isEmpty)
        let c = try #require(cluster[EndpointID(namespace: "y", name: "c")])
        #expect(c.interfaceName == nil)  // another node's pod: a peer only
        #expect(c.node == "n2")
        #expect(cluster.node(named: "n1")?.addresses == [try IPAddress(parsing: "192.168.0.1")])
    }

    @Test func parsesStoredPolicies() throws {
        var snapshot = PolicySnapshot(Self.items())
        var (policies, errors) = snapshot.policies()
        #expect(errors.isEmpty)
        #expect(policies.networkPolicies.map(\.name) == ["web"])
        snapshot.apply(WatchEvent(kind: .put, keyValue: Self.item(PolicyStoreKeys.globalPolicy(name: "bad"), "kind: [")))
        (policies, errors) = snapshot.policies()
        #expect(policies.networkPolicies.count == 1)
        #expect(errors.count == 1)
        #expect(errors.first?.key == PolicyStoreKeys.globalPolicy(name: "bad"))
    }

    @Test func followsWatchEvents() {
        var snapshot = PolicySnapshot(Self.items())
        let ignored = snapshot.apply(WatchEvent(kind: .put, keyValue: Self.item("/swiftcni/ipam/x", "{}")))
        let relabeled = snapshot.apply(WatchEvent(kind: .put, keyValue: Self.item("/swiftcni/labels/pod/x/b", #"{"app":"other"}"#)))
        let deleted = snapshot.apply(WatchEvent(kind: .delete, keyValue: Self.item("/swiftcni/pods/x/a", "")))
        #expect(!ignored && relabeled && deleted)
        let (cluster, _) = snapshot.cluster(node: "n1") { _ in nil }
        #expect(cluster[EndpointID(namespace: "x", name: "a")] == nil)
        #expect(cluster[EndpointID(namespace: "x", name: "b")]?.labels == ["app": "other"])
    }

    @Test func reportsMalformedRecordsAndDuplicateAddresses() {
        let snapshot = PolicySnapshot([
            Self.item("/swiftcni/pods/x/a", #"{"namespace":"x","name":"a","node":"n1","addresses":["10.1.0.2"]}"#),
            Self.item("/swiftcni/pods/x/b", #"{"namespace":"x","name":"b","node":"n1","addresses":["10.1.0.2"]}"#),
            Self.item("/swiftcni/pods/x/c", "not json"),
            Self.item("/swiftcni/pods/x/d", #"{"namespace":"x","name":"d","node":"n1","addresses":["nope"]}"#),
        ])
        let (cluster, errors) = snapshot.cluster(node: "n1") { _ in nil }
        #expect(cluster.endpoints.map(\.name) == ["a"])
        #expect(errors.count == 2)
        #expect(errors.allSatisfy { $0.code == .malformedRecord })
    }

    /// Node records and label maps that do not decode are reported by key, never skipped silently.
    @Test func reportsMalformedNodeRecordsAndLabelMapsByKey() {
        let snapshot = PolicySnapshot([
            Self.item("/swiftcni/pods/x/a", #"{"namespace":"x","name":"a","node":"n1","addresses":["10.1.0.2"],"extra":{"kept":true}}"#),
            Self.item("/swiftcni/nodes/n1", #"{"name":"n1","addresses":"192.168.0.1"}"#),
            Self.item("/swiftcni/nodes/n2", #"{"addresses":["192.168.0.2"]}"#),
            Self.item("/swiftcni/labels/pod/x/a", #"{"app":7}"#),
        ])
        let (cluster, errors) = snapshot.cluster(node: "n1") { _ in nil }
        #expect(cluster.endpoints.map(\.name) == ["a"])
        #expect(cluster.nodes.map(\.name) == ["n2"])
        #expect(Set(errors.compactMap(\.key)) == ["/swiftcni/nodes/n1", "/swiftcni/labels/pod/x/a"], "\(errors)")
        #expect(errors.allSatisfy { $0.code == .malformedRecord })
    }
}
