import ChildProcess
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import Datastore
import NetPrimitives
import Testing
@testable import IPAM
@testable import IPAMCore
#if canImport(Glibc)
import Glibc
#endif

/// Several nodes (one swift-ipam process per pod, each node with its own nodeName) sharing one
/// Datastore, file and etcd.
@Suite(.serialized) struct ClusterIPAMTests {
    init() throws {
        try #require(access(PluginHarness.swiftIPAM, X_OK) == 0, "build swift-ipam first (swift build)")
    }

    static func blockConfiguration(store: String, node: String) -> String {
        """
        {"cniVersion":"1.0.0","name":"podnet","ipam":{"type":"swift-ipam","mode":"block","pools":[{"cidr":"10.50.0.0/22","blockSize":27}],"datastore":"\(store)","nodeName":"\(node)"}}
        """
    }

    func threeNodesThirtyParallelAdds(store: String, directory: String) async throws {
        let nodes = try (1...3).map { try PluginHarness(directory: directory, configuration: Self.blockConfiguration(store: store, node: "node\($0)")) }
        var processes: [(node: Int, id: String, process: RunningProcess)] = []
        for (index, node) in nodes.enumerated() {
            for pod in 0..<30 {
                let id = "n\(index)p\(pod)"
                processes.append((index, id, try node.launch("ADD", id)))
            }
        }
        var addresses: [String] = []
        for entry in processes {
            let status = try await waitOffPool(entry.process)
            let output = readText(nodes[entry.node].outputPath("ADD", entry.id)) ?? ""
            #expect(status == .exited(0), "\(entry.id): \(output)")
            if let address = ParsedResult.parse(output)?.addresses.first { addresses.append(address) }
        }
        #expect(addresses.count == 90 && Set(addresses).count == 90, "\(addresses.count) results, \(Set(addresses).count) unique")
        let datastore = try StoreLocation.open(store)
        let blocks = try await datastore.list(prefix: KeyLayout.blocks).items.compactMap {
            try? JSONDecoder().decode(AllocationBlock.self, from: Data($0.value))
        }
        // Nothing lost: the blocks hold exactly the 90 handles; each node allocated in its own blocks.
        #expect(blocks.reduce(0) { $0 + $1.allocations.count } == 90)
        #expect(try await datastore.list(prefix: KeyLayout.handles).items.count == 90)
        for block in blocks {
            let owners = Set(block.allocations.values.map { $0.dropFirst("podnet.n".count).prefix(1) })
            #expect(owners.count <= 1 || block.affinity == nil, "block \(block.cidr) mixes nodes \(owners)")
        }
        // Parallel DELs return every address and every block.
        var deletions: [RunningProcess] = []
        for entry in processes { deletions.append(try nodes[entry.node].launch("DEL", entry.id)) }
        for process in deletions { #expect(try await waitOffPool(process) == .exited(0)) }
        #expect(try await datastore.list(prefix: KeyLayout.root).items.isEmpty)
    }

    @Test func threeNodesShareAFileStore() async throws {
        try await withTemporaryDirectory { directory in
            try await threeNodesThirtyParallelAdds(store: "file:\(directory)/store", directory: directory)
        }
    }

    @Test func threeNodesShareAnEtcd() async throws {
        try await withTemporaryDirectory { directory in
            try await withEtcd { store in
                try await threeNodesThirtyParallelAdds(store: store, directory: directory)
            }
        }
    }

    @Test func subnetLeaseModeGivesEachNodeItsOwnSubnetOnAFileStore() async throws {
        try await withTemporaryDirectory { directory in
            try await subnetLeaseModeGivesEachNodeItsOwnSubnet(store: "file:\(directory)/store", directory: directory)
        }
    }

    @Test func subnetLeaseModeGivesEachNodeItsOwnSubnetOnEtcd() async throws {
        try await withTemporaryDirectory { directory in
            try await withEtcd { store in try await subnetLeaseModeGivesEachNodeItsOwnSubnet(store: store, directory: directory) }
        }
    }

    func subnetLeaseModeGivesEachNodeItsOwnSubnet(store location: String, directory: String) async throws {
        do {
            var subnets: Set<String> = []
            for node in 1...3 {
                let configuration = """
                    {"cniVersion":"1.0.0","name":"flannel","ipam":{"type":"swift-ipam","mode":"subnet-lease","network":"10.244.0.0/16","subnetLen":24,"datastore":"\(location)","nodeName":"node\(node)","dataDir":"\(directory)/node\(node)"}}
                    """
                let harness = try PluginHarness(directory: directory, configuration: configuration)
                let results = try await harness.parallel("ADD", containerIDs: (0..<10).map { "n\(node)p\($0)" })
                let addresses = results.values.compactMap { ParsedResult.parse($0.1)?.addresses.first }
                #expect(addresses.count == 10 && Set(addresses).count == 10)
                let networks = Set(addresses.compactMap { IPAddress($0) }.map { try! IPNetwork(address: $0, prefixLength: 24).network.description })
                #expect(networks.count == 1)
                subnets.formUnion(networks)
            }
            #expect(subnets == ["10.244.1.0/24", "10.244.2.0/24", "10.244.3.0/24"])
            let store = try StoreLocation.open(location)
            #expect(try await store.list(prefix: "/coreos.com/network/subnets/").items.map(\.key) == [
                "/coreos.com/network/subnets/10.244.1.0-24", "/coreos.com/network/subnets/10.244.2.0-24",
                "/coreos.com/network/subnets/10.244.3.0-24",
            ])
        }
    }
}
