import CNISpec
import Datastore
import Foundation
import Namespaces
import NetPrimitives
import Testing
import TestSupport

/// swift-calico-node without `--address`: Calico's IP_AUTODETECTION_METHOD (flag or
/// environment) on a node with a second interface holding two addresses.
@Suite(.serialized) struct CalicoNodeAutodetectionTests {
    @Test(.privileged) func nodeAddressIsAutodetected() async throws {
        let directory = try TestDirectories.temporary(prefix: "swcni-calico-")
        defer { TestDirectories.remove(directory) }
        try await NamespaceFixture.with(count: 2) { namespaces in
            let cluster = try CalicoCluster(fabric: namespaces[0], nodes: [namespaces[1]], directory: directory)
            defer { cluster.stopAll() }
            let node = namespaces[1]
            try node.ip(["link", "add", "ens9", "mtu", "1400", "type", "veth", "peer", "name", "ens9p"])
            try node.ip(["addr", "add", "10.88.0.5/24", "dev", "ens9"])
            try node.ip(["addr", "add", "10.88.0.6/24", "dev", "ens9"])
            try node.ip(["link", "set", "ens9", "up"])
            try node.ip(["link", "set", "ens9p", "up"])
            let registry = ClusterRegistry(store: try StoreLocation.open("file:" + cluster.harnesses[0].storeDirectory))
            func registered() async throws -> [String]? {
                for _ in 0..<100 {
                    if let record = try await registry.node("node-1") { return record.addresses }
                    try await Task.sleep(for: .milliseconds(100))
                }
                return nil
            }

            // cidr= picks the secondary address of ens9.
            try cluster.startAgent(0, address: ["--ip-autodetection-method", "cidr=10.88.0.6/32"])
            #expect(try await registered() == ["10.88.0.6"], "\(cluster.agentLog(0))")
            #expect(cluster.agentLog(0).contains("autodetected 10.88.0.6/24 on ens9"), "\(cluster.agentLog(0))")
            cluster.stopAgent(0, signal: SIGTERM)
            try await registry.deleteNode("node-1")

            // The environment variable; can-reach= takes the source of the route to the fabric.
            try cluster.startAgent(0, address: [], environment: ["IP_AUTODETECTION_METHOD": "can-reach=192.168.100.254"])
            #expect(try await registered() == ["192.168.100.11"], "\(cluster.agentLog(0))")
            cluster.stopAgent(0, signal: SIGTERM)
            try await registry.deleteNode("node-1")

            // A method that does not parse, or finds nothing: a clear error, no record.
            for method in ["interface=", "interface=wlan.*"] {
                let output = try node.runProcess(
                    TestDirectories.products + "/swift-calico-node",
                    arguments: ["--node", "node-1", "--config", cluster.configPath, "--store", "file:" + cluster.harnesses[0].storeDirectory,
                                "--state-dir", directory + "/state-x", "--ip-autodetection-method", method],
                    timeoutMilliseconds: 10_000)
                #expect(!output.status.isSuccess && output.standardErrorText.contains("interface"), "\(method): \(output.standardErrorText)")
            }
            #expect(try await registry.node("node-1") == nil)
        }
    }
}
