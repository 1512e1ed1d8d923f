import ChildProcess
import Foundation
import Lab
import LabProfiles
import Namespaces
import Testing
import TestSupport

/// Issue 16 item 2: calico's `vxlanMode: CrossSubnet` on `--underlay-subnets 2` (nodes 0 and 2
/// in one subnet, node 1 in the other). Every pod pair connects; a tcpdump on node 0's
/// underlay sees UDP 4789 for traffic to node 1's pod (across the router) and none for
/// traffic to node 2's pod (same subnet: a plain route); with `Always` it sees both. The `Never` case (cross-subnet pairs
/// fail) is `UnderlaySubnetsLabTests.routedCalicoFailsAcrossSubnets`.
@Suite(.serialized) struct CalicoVXLANLabTests {
    @Test func theModesHaveCalicosNames() {
        #expect(CalicoVXLANMode.allCases.map(\.calicoName) == ["Never", "Always", "CrossSubnet"])
    }

    @Test(.privileged) func crossSubnetEncapsulatesOnlyAcrossSubnets() async throws {
        let (same, across) = try await capturesOnTwoSubnets(.crossSubnet)
        #expect(same == 0, "same-subnet traffic is not encapsulated")
        #expect(across >= 3, "cross-subnet traffic is VXLAN: \(across) packets")
    }

    @Test(.privileged) func alwaysEncapsulatesEveryPair() async throws {
        let (same, across) = try await capturesOnTwoSubnets(.always)
        #expect(same >= 3 && across >= 3, "every pair is VXLAN: \(same) same-subnet, \(across) cross-subnet packets")
    }

    /// A 3-node lab over 2 underlay subnets with `mode`: every pod pair must connect; returns
    /// the UDP 4789 packets node 0 sends while its pod pings node 2's (same subnet) and node 1's.
    func capturesOnTwoSubnets(_ mode: CalicoVXLANMode) async throws -> (sameSubnet: Int, crossSubnet: Int) {
        let root = try LabTestSupport.temporaryDirectory()
        let name = LabTestSupport.uniqueLabName()
        let directory = root + "/lab"
        defer {
            _ = try? Lab.down(name: name, stateDirectory: directory)
            try? FileManager.default.removeItem(atPath: root)
        }
        var settings = CalicoSettings.fast
        settings.vxlanMode = mode
        let lab = try await Lab.up(
            LabConfiguration(name: name, stateDirectory: directory, profile: .calico(settings), nodeCount: 3, underlaySubnets: 2))
        let configuration = try String(contentsOfFile: directory + "/calico.json", encoding: .utf8)
        #expect(configuration.contains(#""natOutgoing":true,"vxlanMode":"\#(mode.calicoName)"}"#), "\(configuration)")
        var pods: [LabPod] = []
        for (node, pod) in ["x/a", "x/b", "x/c"].enumerated() { pods.append(try await lab.addPod(try PodReference(parsing: pod), node: node)) }
        let connected = try await CalicoLab.waitUntil(timeoutMilliseconds: 60_000) {
            try await lab.probe(ProbeOptions(ports: [80], protocols: [.tcp], timeoutMilliseconds: 500)).allSatisfy(\.connected)
        }
        let results = try await lab.probe(ProbeOptions(timeoutMilliseconds: 500))
        #expect(connected != nil && results.allSatisfy(\.connected), "\(results.filter { !$0.connected })")

        let nodes = await lab.nodes()
        let vtep = try NetworkNamespace.open(name: nodes[0].networkNamespace).runProcess(
            "/usr/sbin/ip", arguments: ["-d", "link", "show", "vxlan.calico"], timeoutMilliseconds: 10_000).standardOutputText
        #expect(vtep.contains("mtu 1450") && vtep.contains("vxlan id 4096") && vtep.contains("dstport 4789"), "\(vtep)")

        let sameSubnet = try capturedVXLANPackets(on: nodes[0].networkNamespace, from: pods[0], to: try #require(pods[2].address))
        let crossSubnet = try capturedVXLANPackets(on: nodes[0].networkNamespace, from: pods[0], to: try #require(pods[1].address))
        return (sameSubnet, crossSubnet)
    }

    /// UDP 4789 packets tcpdump sees on `eth0` of `node` while `pod` pings `address` three times.
    func capturedVXLANPackets(on node: String, from pod: LabPod, to address: String) throws -> Int {
        let output = Pipe()
        let tcpdump = Process()
        tcpdump.executableURL = URL(fileURLWithPath: "/usr/sbin/ip")
        tcpdump.arguments = ["netns", "exec", node, "/usr/bin/tcpdump", "-i", "eth0", "-nn", "-l", "-Q", "out", "udp", "port", "4789"]
        tcpdump.standardOutput = output
        tcpdump.standardError = FileHandle.nullDevice
        try tcpdump.run()
        Thread.sleep(forTimeInterval: 1.0)
        let ping = try NetworkNamespace.open(name: pod.networkNamespace).runProcess(
            "/usr/bin/ping", arguments: ["-c", "3", "-i", "0.2", "-W", "2", address], timeoutMilliseconds: 10_000)
        #expect(ping.status.isSuccess, "\(pod.qualifiedName) → \(address): \(ping.standardOutputText)")
        Thread.sleep(forTimeInterval: 0.5)
        // SIGKILL: the test process blocks SIGINT and SIGTERM, and its children inherit that mask
        // (tcpdump -l has written every line already).
        kill(tcpdump.processIdentifier, SIGKILL)
        tcpdump.waitUntilExit()
        let text = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        return text.split(separator: "\n").filter { $0.contains(".4789") }.count
    }
}
