import CNISpec
import Foundation
import NetPrimitives
import TestSupport
import Testing

/// containerd 1.6 (Debian's, with runc) as the runtime of swift-flannel: one containerd per node
/// namespace of a two-node `FlannelCluster` (swift-flanneld, vxlan), each in TestSupport's
/// `ContainerdSandbox`; containers run with `ctr run --cni`, so ADD and DEL come from
/// containerd's own CNI library.
@Suite("swift-flannel under containerd (ctr run --cni)", .serialized)
struct FlannelContainerdTests {
    static let network = "swcni-flannel"

    @Test("two containers on two nodes reach each other; stopping them leaves no link, address or reservation",
          .privileged, .timeLimit(.minutes(2)))
    func twoNodes() async throws {
        try #require(FileManager.default.isExecutableFile(atPath: "/usr/bin/containerd"), "containerd is not installed")
        try await FlannelCluster.with(nodes: 2) { cluster in
            try await cluster.writeConfiguration(FlannelAgentClusterTests.vxlan)
            for index in 0..<2 { try cluster.start(index) }
            for index in 0..<2 {
                #expect(cluster.eventually { cluster.subnetEnvironment(index) != nil }, "node \(index + 1): \(cluster.log(index))")
            }
            let subnets = try (0..<2).map { try #require(cluster.subnet($0)) }
            var sandboxes: [ContainerdSandbox] = []
            defer { sandboxes.forEach { $0.tearDown() } }
            for index in 0..<2 {
                let directory = cluster.directory + "/containerd-\(index + 1)"
                try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
                sandboxes.append(try ContainerdSandbox(
                    directory: directory, node: cluster.nodes[index], network: Self.network,
                    conflist: """
                        {"cniVersion": "1.0.0", "name": "\(Self.network)", "plugins": [
                          {"type": "swift-flannel", "subnetFile": "\(cluster.subnetFile(index))", "dataDir": "\(directory)/data",
                           "delegate": {"bridge": "cni0", "hairpinMode": true, "isDefaultGateway": true}}
                        ]}
                        """,
                    plugins: ["swift-flannel": TestDirectories.products + "/swift-flannel"]))
            }
            let linksBefore = try (0..<2).map { try Self.links(cluster, $0) }
            var addresses: [String] = []
            var hostLinks: [Set<String>] = []
            for index in 0..<2 {
                let name = "c\(index + 1)"
                try sandboxes[index].start(name, ["/bin/sleep", "300"])
                let result = try #require(try sandboxes[index].result(of: name), "no cached result for \(name)")
                let address = try #require(result.ips.first?.address)
                #expect(subnets[index].contains(address.address), "\(name) got \(address) outside \(subnets[index])")
                let inside = try sandboxes[index].exec(name, ["/bin/ip", "-4", "-o", "addr", "show", "eth0"])
                #expect(inside.standardOutputText.contains(address.description), "\(inside.standardOutputText)")
                addresses.append(address.address.description)
                hostLinks.append(Set(result.interfaces.filter { $0.sandbox == nil }.map(\.name)).subtracting(["cni0"]))
                #expect(hostLinks[index].count == 1, "host-side veth of \(name): \(result.interfaces)")
                #expect(Self.reserved(sandboxes[index]) == [addresses[index]])
            }
            for (from, to) in [(0, 1), (1, 0)] {
                let ping = try sandboxes[from].exec("c\(from + 1)", ["/bin/ping", "-c", "2", "-W", "2", addresses[to]])
                #expect(ping.status == .exited(0), "c\(from + 1) → c\(to + 1): \(ping.standardOutputText) \(ping.standardErrorText)")
            }

            // ctr runs DEL when the task exits: veth, address, reservation and cache entry go.
            for index in 0..<2 {
                let name = "c\(index + 1)"
                let output = try sandboxes[index].stop(name)
                #expect(!output.contains("network"), "ctr: \(output)")
                let links = try Self.links(cluster, index)
                #expect(links.isDisjoint(with: hostLinks[index]), "left behind: \(links.intersection(hostLinks[index]))")
                #expect(links.subtracting(["cni0"]) == linksBefore[index].subtracting(["cni0"]))
                let bridge = try cluster.nodes[index].ip(["-4", "-o", "addr", "show"])
                #expect(!bridge.contains(addresses[index] + "/"), "address still on node \(index + 1): \(bridge)")
                #expect(Self.reserved(sandboxes[index]).isEmpty)
                #expect(sandboxes[index].resultCache.entries(network: Self.network).isEmpty)
                #expect(try sandboxes[index].taskStatus(name) == nil)
            }
        }
    }

    static func links(_ cluster: FlannelCluster, _ index: Int) throws -> Set<String> {
        Set(try cluster.json(index, ["link", "show"]).compactMap { $0["ifname"] as? String })
    }

    /// Addresses swift-flannel holds in its store (host-local's format: one file per address).
    static func reserved(_ sandbox: ContainerdSandbox) -> Set<String> {
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: sandbox.directory + "/data/" + network)) ?? []
        return Set(entries.filter { IPAddress($0) != nil })
    }
}
