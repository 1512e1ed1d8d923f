import CNISpec
import Datastore
import Foundation
import NetPrimitives
import Testing
import TestSupport

/// containerd 1.6 (Debian's, with runc) as the runtime of swift-calico: one containerd per node
/// namespace of a two-node `CalicoCluster` (swift-calico-node agents peering over BGP, the
/// block IPAM in a shared file datastore), each in TestSupport's `ContainerdSandbox`;
/// containers run with `ctr run --cni`, so ADD and DEL come from containerd's own CNI library.
@Suite(.serialized) struct CalicoContainerdTests {
    static let network = "k8s-pod-network"

    @Test(.privileged, .timeLimit(.minutes(2))) func twoContainersOnTwoNodesReachEachOtherAndLeaveNothingBehind() async throws {
        try #require(FileManager.default.isExecutableFile(atPath: "/usr/bin/containerd"), "containerd is not installed")
        let directory = try TestDirectories.temporary(prefix: "swcni-calico-")
        defer { TestDirectories.remove(directory) }
        try await NamespaceFixture.with(count: 3) { namespaces in
            let cluster = try CalicoCluster(fabric: namespaces[0], nodes: Array(namespaces[1...2]), directory: directory)
            defer { cluster.stopAll() }
            var sandboxes: [ContainerdSandbox] = []
            defer { sandboxes.forEach { $0.tearDown() } }
            for index in 0..<2 {
                try cluster.startAgent(index)
                let sandbox = directory + "/containerd-\(index + 1)"
                try FileManager.default.createDirectory(atPath: sandbox, withIntermediateDirectories: true)
                sandboxes.append(try ContainerdSandbox(
                    directory: sandbox, node: cluster.nodes[index], network: Self.network,
                    conflist: """
                        {"cniVersion": "1.0.0", "name": "\(Self.network)", "plugins": [
                          {"type": "swift-calico", "datastore": "file:\(cluster.harnesses[index].storeDirectory)", "nodeName": "node-\(index + 1)",
                           "ipam": {"type": "calico-ipam", "pools": [{"cidr": "10.244.0.0/16", "blockSize": 26}]}}
                        ]}
                        """,
                    plugins: ["swift-calico": TestDirectories.products + "/swift-calico"]))
            }
            var addresses: [String] = []
            var hostLinks: [String] = []
            for index in 0..<2 {
                let name = "c\(index + 1)"
                try sandboxes[index].start(name, ["/bin/sleep", "300"])
                let result = try #require(try sandboxes[index].result(of: name), "no cached result for \(name)")
                let address = try #require(result.ips.first?.address.address)
                #expect(IPNetwork("10.244.0.0/16").contains(address), "\(name) got \(address)")
                let inside = try sandboxes[index].exec(name, ["/bin/ip", "-4", "-o", "addr", "show", "eth0"])
                #expect(inside.standardOutputText.contains(address.description + "/32"), "\(inside.standardOutputText)")
                addresses.append(address.description)
                hostLinks.append(try #require(result.interfaces.first { $0.sandbox == nil }?.name, "\(result.interfaces)"))
            }
            let blocks = try addresses.map(ClusterTests.block(of:))
            #expect(blocks[0] != blocks[1])
            // Each node learns the other's block over BGP, next hop the owning node.
            for (index, other) in [(0, 1), (1, 0)] {
                let learned = try await eventually(within: 20) { try cluster.bgpRoutes(index)[blocks[other]] == cluster.nodeAddress(other) }
                let routes = try cluster.bgpRoutes(index)
                #expect(learned, "node \(index + 1) routes: \(routes)\n\(cluster.agentLog(index))")
            }
            for (from, to) in [(0, 1), (1, 0)] {
                let ping = try sandboxes[from].exec("c\(from + 1)", ["/bin/ping", "-c", "2", "-W", "2", addresses[to]])
                #expect(ping.status == .exited(0), "c\(from + 1) → c\(to + 1): \(ping.standardOutputText) \(ping.standardErrorText)")
            }

            // ctr runs DEL when the task exits: veth, route, block allocation and records go.
            let store = try StoreLocation.open("file:" + cluster.harnesses[0].storeDirectory)
            let held = try await store.list(prefix: KeyLayout.blocks).items.map(\.string).joined()
            for index in 0..<2 {
                #expect(held.contains(Self.network + "." + sandboxes[index].containerID("c\(index + 1)")), "\(held)")
            }
            for index in 0..<2 {
                let name = "c\(index + 1)"
                let output = try sandboxes[index].stop(name)
                #expect(!output.contains("network"), "ctr: \(output)")
                let node = cluster.nodes[index]
                #expect(try node.ip(["-o", "link", "show"]).contains(hostLinks[index]) == false, "\(hostLinks[index]) left behind")
                #expect(try node.ip(["-4", "route", "show", addresses[index]]).isEmpty, "route to \(addresses[index]) left behind")
                #expect(try !node.ip(["-4", "-o", "addr", "show"]).contains(addresses[index] + "/"))
                #expect(sandboxes[index].resultCache.entries(network: Self.network).isEmpty)
                #expect(try sandboxes[index].taskStatus(name) == nil)
                let handle = Self.network + "." + sandboxes[index].containerID(name)
                for block in try await store.list(prefix: KeyLayout.blocks).items {
                    #expect(!block.string.contains(handle), "\(block.key) still holds \(handle)")
                }
            }
            #expect(try await store.list(prefix: KeyLayout.handles).items.isEmpty)
            #expect(try await store.list(prefix: KeyLayout.pods).items.map(\.key) == [])
        }
    }
}
