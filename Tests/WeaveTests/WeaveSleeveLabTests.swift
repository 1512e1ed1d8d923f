import Foundation
import Lab
import LabProfiles
import Namespaces
import NetPrimitives
import Netlink
import Testing
import TestSupport
import Weave
@testable import swift_weaved

/// The sleeve carries bulk TCP: a 2-node lab forced onto the sleeve (UDP 6784 blocked in the
/// fabric) moves 10 MB between two pods with and without a mesh secret, as super-frames cut
/// into chunks (more datagrams than units); and a restarted agent finds its TAP port (kept
/// while it was stopped, or created again after it was deleted) and carries traffic again.
@Suite(.serialized) struct WeaveSleeveLabTests {
    /// A lab of 2 weave nodes with a pod on each, the pair on the sleeve.
    static func sleeveLab(_ profile: WeaveProfile, root: String, name: String) async throws -> (Lab, LabPod, LabPod) {
        let lab = try await Lab.up(LabConfiguration(name: name, stateDirectory: root + "/lab", profile: profile, nodeCount: 2))
        try await lab.blockLink(0, 1, udpPort: WeaveNames.fastPathPort)
        try await lab.addPod(try PodReference(namespace: "x", name: "a"), node: 0, labels: [:])
        try await lab.addPod(try PodReference(namespace: "x", name: "b"), node: 1, labels: [:])
        let pods = await lab.pods()
        return (lab, try #require(pods.first { $0.name == "a" }), try #require(pods.first { $0.name == "b" }))
    }

    static func onSleeve(_ root: String) async throws -> Bool {
        try await eventually(within: 30) {
            WeaveRelayLabTests.path(to: "node-1", socket: root + "/lab/nodes/0/weave.sock")?.path == .sleeve
                && WeaveRelayLabTests.path(to: "node-0", socket: root + "/lab/nodes/1/weave.sock")?.path == .sleeve
        }
    }

    /// 10 MB over TCP from `client` to `server` (iperf3 `-n 10M`); the bytes sent, nil when
    /// iperf3 failed or took longer than a minute (it exits 0 only when the server took part
    /// to the end; its server-side count stops at the end signal, so it may read lower).
    static func transfer(from client: LabPod, to server: LabPod, root: String) async throws -> Int? {
        let serverNamespace = try NetworkNamespace.open(name: server.networkNamespace)
        let listener = try serverNamespace.launchProcess("/usr/bin/iperf3", arguments: ["-s", "-1", "-p", "5201"])
        defer { _ = listener.terminate(graceMilliseconds: 1_000) }
        try await Task.sleep(for: .milliseconds(500))
        let report = root + "/iperf-\(UInt32.random(in: 0...UInt32.max)).json"
        let sender = try NetworkNamespace.open(name: client.networkNamespace).launchProcess(
            "/usr/bin/iperf3", arguments: ["-c", try #require(server.address), "-p", "5201", "-n", "10M", "-J"],
            standardOutput: .file(report))
        defer { _ = sender.terminate(graceMilliseconds: 1_000) }
        var exit = sender.poll()
        _ = try await eventually(within: 60) {
            exit = exit ?? sender.poll()
            return exit != nil
        }
        guard exit == .exited(0) else { return nil }
        let json = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: report))) as? [String: Any]
        let end = json?["end"] as? [String: Any]
        guard ((end?["sum_received"] as? [String: Any])?["bytes"] as? Int ?? 0) > 0 else { return nil }
        return (end?["sum_sent"] as? [String: Any])?["bytes"] as? Int
    }

    @Test(.privileged, arguments: [false, true]) func tenMegabytesOverTheSleeve(secret: Bool) async throws {
        let root = try TestDirectories.temporary(prefix: "cnilab-weave-sleeve")
        let name = "wv\(UInt32.random(in: 0...UInt32.max) % 1_000_000_000)"
        defer {
            _ = try? Lab.down(name: name, stateDirectory: root + "/lab")
            TestDirectories.remove(root)
        }
        var profile = WeaveProfile()
        if secret {
            try WeaveSecretLabTests.writeSecret(root + "/secret")
            profile = WeaveProfile(secretFile: root + "/secret")
        }
        let (lab, a, b) = try await Self.sleeveLab(profile, root: root, name: name)
        #expect(try await Self.onSleeve(root))
        #expect(WeaveRelayLabTests.path(to: "node-1", socket: root + "/lab/nodes/0/weave.sock")?.encrypted == secret)
        let received = try await Self.transfer(from: a, to: b, root: root)
        #expect((received ?? 0) >= 10 << 20, "received \(String(describing: received)) bytes")
        let sent = try WeaveSecretLabTests.status(root + "/lab/nodes/0/weave.sock").sleeve.counters
        // Super-frames from the TAP port's offloads: a unit takes several datagrams.
        #expect(sent.datagramsSent > sent.framesSent + 1_000, "\(sent)")
        let delivered = try WeaveSecretLabTests.status(root + "/lab/nodes/1/weave.sock").sleeve.counters
        #expect(delivered.framesDelivered > 0 && delivered.drops["malformed", default: 0] == 0, "\(delivered)")
        try await lab.down()
    }

    @Test(.privileged) func restartedAgentReattachesTheSleeve() async throws {
        let root = try TestDirectories.temporary(prefix: "cnilab-weave-restart")
        let name = "wt\(UInt32.random(in: 0...UInt32.max) % 1_000_000_000)"
        defer {
            _ = try? Lab.down(name: name, stateDirectory: root + "/lab")
            TestDirectories.remove(root)
        }
        let (lab, a, b) = try await Self.sleeveLab(WeaveProfile(), root: root, name: name)
        #expect(try await Self.onSleeve(root))
        let node = try #require(await lab.nodes().first { $0.index == 1 })
        let netlink = try NetlinkHandle(namespace: try NetworkNamespace.open(name: node.networkNamespace))
        let bridge = try netlink.link(named: WeaveNames.bridge)

        // Stopped: the TAP port stays in the bridge; restarted: the agent reads it again.
        try await lab.stopAgent(1)
        let kept = try netlink.linkIfPresent(named: WeaveNames.sleeveDevice)
        #expect(kept != nil && kept?.masterIndex == bridge.index, "\(String(describing: kept))")
        try await lab.startAgent(1)
        #expect(try await Self.onSleeve(root))
        var received = try await Self.transfer(from: a, to: b, root: root)
        #expect((received ?? 0) >= 10 << 20, "after a restart: \(String(describing: received)) bytes")

        // Deleted while stopped: the next agent creates it again, in the bridge.
        try await lab.stopAgent(1)
        #expect(try netlink.deleteLinkIfPresent(named: WeaveNames.sleeveDevice))
        try await lab.startAgent(1)
        #expect(try await Self.onSleeve(root))
        let again = try netlink.linkIfPresent(named: WeaveNames.sleeveDevice)
        #expect(again?.masterIndex == bridge.index, "\(String(describing: again))")
        received = try await Self.transfer(from: a, to: b, root: root)
        #expect((received ?? 0) >= 10 << 20, "after the TAP port was recreated: \(String(describing: received)) bytes")
        try await lab.down()
    }
}
