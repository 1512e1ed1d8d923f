import ChildProcess
import Foundation
import Lab
import LabProfiles
import Namespaces
import Testing
import TestSupport
import Weave
@testable import swift_weaved

/// Path choice per pair: blocking only UDP 6784 between two nodes (`cnilab link block 0 1
/// --udp-port 6784`) moves that pair to the sleeve within the heartbeat timeout while a TCP
/// stream between their pods keeps going; unblocking returns it to the fast path.
@Suite(.serialized) struct WeavePathChoiceLabTests {
    @Test(.privileged) func fastPathFailureMovesThePairToTheSleeveAndBack() async throws {
        let root = try TestDirectories.temporary(prefix: "cnilab-weave-paths")
        let name = "wp\(UInt32.random(in: 0...UInt32.max) % 1_000_000_000)"
        let directory = root + "/lab"
        defer {
            _ = try? Lab.down(name: name, stateDirectory: directory)
            TestDirectories.remove(root)
        }
        let lab = try await Lab.up(LabConfiguration(name: name, stateDirectory: directory, profile: .weave(), nodeCount: 2))
        try await lab.addPod(try PodReference(namespace: "x", name: "a"), node: 0, labels: [:])
        try await lab.addPod(try PodReference(namespace: "x", name: "b"), node: 1, labels: [:])
        let pods = await lab.pods()
        let client = try #require(pods.first { $0.name == "a" }), server = try #require(pods.first { $0.name == "b" })
        let socket0 = directory + "/nodes/0/weave.sock"
        let fast = try await eventually(within: 20) { WeaveRelayLabTests.path(to: "node-1", socket: socket0)?.path == .fastpath }
        #expect(fast, "\(String(describing: WeaveRelayLabTests.path(to: "node-1", socket: socket0)))")

        // A TCP stream from a to b for the whole test (iperf3, 1-second intervals).
        let serverNamespace = try NetworkNamespace.open(name: server.networkNamespace)
        let iperfServer = try serverNamespace.launchProcess("/usr/bin/iperf3", arguments: ["-s", "-1", "-p", "5201"])
        defer { _ = iperfServer.terminate(graceMilliseconds: 1_000) }
        try await Task.sleep(for: .milliseconds(500))
        let report = root + "/iperf.json"
        let stream = try NetworkNamespace.open(name: client.networkNamespace).launchProcess(
            "/usr/bin/iperf3", arguments: ["-c", try #require(server.address), "-p", "5201", "-t", "20", "-b", "20M", "-J"],
            standardOutput: .file(report))
        defer { _ = stream.terminate(graceMilliseconds: 1_000) }
        try await Task.sleep(for: .seconds(3))

        // UDP 6784 dropped both ways: the heartbeats go unanswered, the pair takes the sleeve.
        let clock = ContinuousClock()
        let blocked = clock.now
        try await lab.blockLink(0, 1, udpPort: WeaveNames.fastPathPort)
        #expect(try await lab.blockedLinks() == [LinkBlock(0, 1, udpPort: 6784)])
        let sleeve = try await eventually(within: 15) { WeaveRelayLabTests.path(to: "node-1", socket: socket0)?.path == .sleeve }
        let moved = clock.now - blocked
        #expect(sleeve, "\(String(describing: WeaveRelayLabTests.path(to: "node-1", socket: socket0)))")
        // The heartbeat timeout (3 s) plus one refresh (1 s), with room for a loaded machine.
        #expect(moved < .seconds(8), "the pair took \(moved) to move to the sleeve")
        try await Task.sleep(for: .seconds(4))

        try await lab.unblockLink(0, 1, udpPort: WeaveNames.fastPathPort)
        #expect(try await lab.blockedLinks().isEmpty)
        let back = try await eventually(within: 15) { WeaveRelayLabTests.path(to: "node-1", socket: socket0)?.path == .fastpath }
        #expect(back, "\(String(describing: WeaveRelayLabTests.path(to: "node-1", socket: socket0)))")

        // The stream never broke: iperf3 finished on its own and carried data again after each
        // switch. Until the timeout notices, the fast path black-holes the stream, so a few
        // seconds (the timeout, a refresh, TCP's retransmission backoff) may carry nothing.
        var exit = stream.poll()
        let finished = try await eventually(within: 30) {
            exit = exit ?? stream.poll()
            return exit != nil
        }
        #expect(finished && exit == .exited(0), "iperf3: \(String(describing: exit))")
        let json = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: report))) as? [String: Any]
        #expect(json?["error"] == nil, "iperf3: \(String(describing: json?["error"]))")
        let intervals = (json?["intervals"] as? [[String: Any]]) ?? []
        let bytes = intervals.compactMap { ($0["sum"] as? [String: Any])?["bytes"] as? Int }
        #expect(bytes.count >= 18 && bytes.suffix(5).allSatisfy { $0 > 0 }, "bytes per second: \(bytes)")
        #expect(bytes.filter { $0 == 0 }.count <= 7, "seconds without data: \(bytes)")
        let counters = try WeaveSecretLabTests.status(socket0).sleeve.counters
        #expect(counters.framesSent > 0, "the stream never used the sleeve: \(counters)")
        try await lab.down()
    }
}
