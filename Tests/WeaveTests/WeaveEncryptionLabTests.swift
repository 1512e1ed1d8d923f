import Foundation
import Lab
import LabProfiles
import Namespaces
import Testing
import TestSupport
import Weave
@testable import swift_weaved

/// Pod data on the wire, checked by capture: tcpdump on the fabric's bridge while a pod pings
/// a pod of the other node with a marker in its payload. With a mesh secret the pair uses the
/// sleeve sealed with its connection's data-channel keys and the marker never appears; without
/// a secret, or with a secret and both nodes in the trusted subnets (fast path in clear), it does.
@Suite(.serialized) struct WeaveEncryptionLabTests {
    /// Runs a 2-node weave lab with `profile`, pings pod 1 from pod 0 with the marker while
    /// tcpdump captures the underlay; returns whether the pings were answered, whether the
    /// marker was in the capture, and node 0's path to node 1.
    static func pingUnderCapture(_ profile: WeaveProfile, root: String) async throws -> (answered: Bool, seen: Bool, path: PeerPath?) {
        let name = "we\(UInt32.random(in: 0...UInt32.max) % 1_000_000_000)"
        let directory = root + "/lab-\(name)"
        defer { _ = try? Lab.down(name: name, stateDirectory: directory) }
        let lab = try await Lab.up(LabConfiguration(name: name, stateDirectory: directory, profile: profile, nodeCount: 2))
        try await lab.addPod(try PodReference(namespace: "x", name: "a"), node: 0, labels: [:])
        try await lab.addPod(try PodReference(namespace: "x", name: "b"), node: 1, labels: [:])
        let pods = await lab.pods()
        let from = try #require(pods.first { $0.name == "a" }), to = try #require(pods.first { $0.name == "b" })
        let socket0 = directory + "/nodes/0/weave.sock"
        _ = try await eventually(within: 15) { WeaveRelayLabTests.path(to: "node-1", socket: socket0) != nil }

        let capture = try await lab.captureMarker(from: from, to: to, in: root)
        let (answered, seen) = (capture.answered, capture.seen)
        let path = WeaveRelayLabTests.path(to: "node-1", socket: socket0)
        try await lab.down()
        return (answered, seen, path)
    }

    @Test(.privileged) func markerOnlyInClear() async throws {
        let root = try TestDirectories.temporary(prefix: "cnilab-weave-capture")
        defer { TestDirectories.remove(root) }
        let secretFile = root + "/secret"
        try WeaveSecretLabTests.writeSecret(secretFile)

        let sealed = try await Self.pingUnderCapture(WeaveProfile(secretFile: secretFile), root: root)
        #expect(sealed.answered, "pings over the encrypted sleeve were not answered")
        #expect(!sealed.seen, "the marker crossed the fabric in clear with a secret")
        #expect(sealed.path?.path == .sleeve && sealed.path?.encrypted == true, "\(String(describing: sealed.path))")

        let clear = try await Self.pingUnderCapture(WeaveProfile(), root: root)
        #expect(clear.answered && clear.seen, "without a secret: answered \(clear.answered), marker seen \(clear.seen)")
        #expect(clear.path?.path == .fastpath, "\(String(describing: clear.path))")

        let trusted = try await Self.pingUnderCapture(
            WeaveProfile(secretFile: secretFile, trustedSubnets: ["192.168.77.0/24"]), root: root)
        #expect(trusted.answered && trusted.seen, "trusted subnets: answered \(trusted.answered), marker seen \(trusted.seen)")
        #expect(trusted.path?.path == .fastpath && trusted.path?.encrypted == false, "\(String(describing: trusted.path))")
    }
}
