import Lab
import LabProfiles
import NetPrimitives
import Testing
import TestSupport

/// Issue 15: 5 nodes and 100 pods share weave's ring without handing out an address twice;
/// every address is in the ring's range, and pods on different nodes reach each other.
@Suite(.serialized) struct WeaveScaleLabTests {
    @Test(.privileged) func fiveNodesHundredPodsNoDuplicateAddress() async throws {
        let root = try TestDirectories.temporary(prefix: "cnilab-weave")
        let name = "w\(UInt32.random(in: 0...UInt32.max) % 1_000_000_000)"
        let directory = root + "/lab"
        defer {
            _ = try? Lab.down(name: name, stateDirectory: directory)
            TestDirectories.remove(root)
        }
        let lab = try await Lab.up(LabConfiguration(name: name, stateDirectory: directory, profile: .weave(), nodeCount: 5))
        for index in 0..<100 {
            _ = try await lab.addPod(try PodReference(namespace: "s", name: "p\(index)"), node: index % 5)
        }
        let addresses = await lab.pods().compactMap(\.address)
        #expect(addresses.count == 100 && Set(addresses).count == 100, "\(addresses.count) addresses, \(Set(addresses).count) distinct")
        let range = try IPNetwork(parsing: "10.32.0.0/12")
        #expect(try addresses.allSatisfy { range.contains(try IPAddress(parsing: $0)) })
        // One pod per node reaches one pod on every other node.
        let sample = await lab.pods().filter { ["p0", "p1", "p2", "p3", "p4"].contains($0.name) }
        let results = try await Lab.probe(sample, ProbeOptions(ports: [80], protocols: [.tcp], timeoutMilliseconds: 2_000))
        #expect(results.count == 20 && results.allSatisfy(\.connected), "\(results.filter { !$0.connected })")
    }
}
