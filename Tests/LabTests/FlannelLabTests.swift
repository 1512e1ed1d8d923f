import Foundation
import Synchronization
import Lab
import LabProfiles
import Namespaces
import NetPrimitives
import Netlink
import Testing
import TestSupport

/// The issue-5 end-to-end bar with swift-flanneld and swift-flannel: 3 node namespaces on a
/// shared underlay bridge, pods added through the CNI runtime inside the node namespaces.
enum FlannelLab {
    static func up(_ name: String, _ directory: String, backend: FlannelBackend, store: LabStoreKind = .file) async throws -> Lab {
        try await Lab.up(
            LabConfiguration(name: name, stateDirectory: directory, profile: .flannel(backend: backend), nodeCount: 3, store: store))
    }

    /// Two pods per node.
    static func addPods(_ lab: Lab) async throws -> [LabPod] {
        var pods: [LabPod] = []
        for index in 0..<6 {
            pods.append(try await lab.addPod(try PodReference(namespace: "x", name: "p\(index)"), node: index / 2))
        }
        return pods
    }

    /// What node `observer` still has towards a node that left: flannel routes (proto 91) to
    /// `subnet`, and (vxlan) FDB entries to `underlay` and neighbours in `subnet` on flannel.1.
    static func leftovers(on observer: String, subnet: IPNetwork, underlay: IPAddress) throws -> [String] {
        let netlink = try NetlinkHandle(namespace: try NetworkNamespace.open(name: observer))
        var found: [String] = []
        for route in try netlink.routes(family: .v4, protocolTag: Route.ProtocolTag(91)) where route.destination == subnet {
            found.append("route \(route.destination)")
        }
        if try netlink.linkIfPresent(named: "flannel.1") != nil {
            for entry in try netlink.forwardingEntries(device: "flannel.1") where entry.address == underlay {
                found.append("fdb \(entry)")
            }
            for neighbor in try netlink.neighbors(family: .ipv4, device: "flannel.1") {
                if let address = neighbor.address, subnet.contains(address) { found.append("neighbour \(address)") }
            }
        }
        return found
    }

    /// Removes node 2 and waits until nodes 0 and 1 hold nothing towards it.
    static func removeNodeTwoAndCheck(_ lab: Lab) async throws {
        let node = try #require(await lab.nodes().first { $0.index == 2 })
        let subnet = try IPNetwork(parsing: try #require(node.subnet))
        let underlay = try IPAddress(parsing: node.underlayAddress)
        let observers = await lab.nodes().filter { $0.index != 2 }.map(\.networkNamespace)
        #expect(try observers.allSatisfy { !(try leftovers(on: $0, subnet: subnet, underlay: underlay)).isEmpty })
        try await lab.removeNode(2)
        var remaining: [String] = []
        for _ in 0..<100 {
            remaining = try observers.flatMap { try leftovers(on: $0, subnet: subnet, underlay: underlay) }
            if remaining.isEmpty { break }
            try await Task.sleep(for: .milliseconds(50))
        }
        #expect(remaining.isEmpty, "left on the other nodes: \(remaining)")
    }

    /// Probes cross-node TCP and UDP in a loop while node 0's agent is stopped and started
    /// again; returns the failed probes and how many rounds ran.
    static func probeAcrossAgentRestart(_ lab: Lab) async throws -> (failures: [ProbeResult], rounds: Int) {
        let pods = await lab.pods()
        let stop = Flag()
        let loop = Task {
            var failures: [ProbeResult] = []
            var rounds = 0
            while !stop.isSet {
                // 500 ms: a dropped TCP SYN is only resent after 1 s, so any loss still shows.
                let results = try await Lab.probe(pods, ProbeOptions(ports: [80], timeoutMilliseconds: 500))
                failures += results.filter { !$0.connected }
                rounds += 1
            }
            return (failures, rounds)
        }
        try await Task.sleep(for: .milliseconds(200))
        try await lab.stopAgent(0)
        try await Task.sleep(for: .milliseconds(300))
        try await lab.startAgent(0)
        try await Task.sleep(for: .milliseconds(1_000))
        stop.set()
        return try await loop.value
    }
}

final class Flag: Sendable {
    private let value = Mutex(false)
    var isSet: Bool { value.withLock { $0 } }
    func set() { value.withLock { $0 = true } }
}

@Suite(.serialized) struct FlannelVXLANLabTests {
    @Test(.privileged) func vxlanFileStore() async throws {
        let root = try LabTestSupport.temporaryDirectory()
        let name = LabTestSupport.uniqueLabName()
        defer {
            _ = try? Lab.down(name: name, stateDirectory: root + "/lab")
            try? FileManager.default.removeItem(atPath: root)
        }
        let lab = try await FlannelLab.up(name, root + "/lab", backend: .vxlan)
        let nodes = await lab.nodes()
        #expect(nodes.allSatisfy { $0.agent == .running && $0.subnet != nil })
        #expect(Set(nodes.compactMap(\.subnet)).count == 3)
        let pods = try await FlannelLab.addPods(lab)
        #expect(pods.allSatisfy { $0.address != nil })
        let results = try await lab.probe(ProbeOptions(timeoutMilliseconds: 500))
        #expect(results.count == 6 * 5 * 4)
        #expect(results.allSatisfy { $0.connected }, "not connected: \(results.filter { !$0.connected })")

        let restart = try await FlannelLab.probeAcrossAgentRestart(lab)
        #expect(restart.rounds >= 2)
        #expect(restart.failures.isEmpty, "lost across the restart: \(restart.failures)")
        #expect(await lab.nodes()[0].agent == .running)

        try await FlannelLab.removeNodeTwoAndCheck(lab)
        #expect(try await lab.probe().allSatisfy { $0.connected })
        try await lab.down()
        #expect(LabTestSupport.namespaces(of: name).isEmpty)
    }
}

@Suite(.serialized) struct FlannelHostGatewayLabTests {
    @Test(.privileged) func hostGatewayFileStore() async throws {
        let root = try LabTestSupport.temporaryDirectory()
        let name = LabTestSupport.uniqueLabName()
        defer {
            _ = try? Lab.down(name: name, stateDirectory: root + "/lab")
            try? FileManager.default.removeItem(atPath: root)
        }
        let lab = try await FlannelLab.up(name, root + "/lab", backend: .hostGateway)
        _ = try await FlannelLab.addPods(lab)
        let results = try await lab.probe(ProbeOptions(timeoutMilliseconds: 500))
        #expect(results.count == 6 * 5 * 4)
        #expect(results.allSatisfy { $0.connected }, "not connected: \(results.filter { !$0.connected })")
        let restart = try await FlannelLab.probeAcrossAgentRestart(lab)
        #expect(restart.failures.isEmpty, "lost across the restart: \(restart.failures)")
        try await FlannelLab.removeNodeTwoAndCheck(lab)
        try await lab.down()
        #expect(LabTestSupport.namespaces(of: name).isEmpty)
    }
}

@Suite(.serialized) struct FlannelEtcdLabTests {
    @Test(.privileged) func vxlanEtcdStore() async throws {
        let root = try LabTestSupport.temporaryDirectory()
        let name = LabTestSupport.uniqueLabName()
        defer {
            _ = try? Lab.down(name: name, stateDirectory: root + "/lab")
            try? FileManager.default.removeItem(atPath: root)
        }
        let lab = try await FlannelLab.up(name, root + "/lab", backend: .vxlan, store: .etcd)
        #expect(await lab.status().store.hasPrefix("etcd:"))
        _ = try await FlannelLab.addPods(lab)
        let results = try await lab.probe(ProbeOptions(timeoutMilliseconds: 500))
        #expect(results.allSatisfy { $0.connected }, "not connected: \(results.filter { !$0.connected })")
        try await FlannelLab.removeNodeTwoAndCheck(lab)
        try await lab.down()
        #expect(LabTestSupport.namespaces(of: name).isEmpty)
    }
}
