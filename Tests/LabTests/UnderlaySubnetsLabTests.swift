import ChildProcess
import Foundation
import Lab
import LabProfiles
import Namespaces
import Testing
import TestSupport

/// Issue 16 item 2: `cnilab up --underlay-subnets 2`. Three nodes over two subnets (nodes 0 and
/// 2 in 192.168.77.0/24, node 1 in 192.168.78.0/24) joined by the lab's router, which routes
/// only the underlay. Nodes reach each other's underlay addresses across the router and the
/// fabric's store reaches every node; flannel's VXLAN works across it unchanged; routed-only
/// calico connects the same-subnet pair only (a BGP next hop must be on-link).
@Suite(.serialized) struct UnderlaySubnetsLabTests {
    static let pods = ["x/a", "x/b", "x/c"]

    @Test func theSubnetCountIsValidated() async throws {
        for count in [0, 9] {
            await #expect(throws: LabError.self) {
                _ = try await Lab.up(LabConfiguration(name: "tbad", stateDirectory: NSTemporaryDirectory() + "cnilab-never", profile: .flannel(backend: .vxlan), underlaySubnets: count))
            }
        }
    }

    @Test(.privileged) func flannelVXLANCrossesTheRouter() async throws {
        try await withLab(.flannel(backend: .vxlan)) { lab, name in
            let nodes = await lab.nodes()
            #expect(nodes.map(\.underlayAddress) == ["192.168.77.10", "192.168.78.11", "192.168.77.12"])
            #expect(LabTestSupport.namespaces(of: name).contains("cnilab-\(name)-router"))
            for (from, to) in [(0, 1), (1, 2), (0, 2)] {
                let ping = try NetworkNamespace.open(name: nodes[from].networkNamespace).runProcess(
                    "/usr/bin/ping", arguments: ["-c", "1", "-W", "2", nodes[to].underlayAddress], timeoutMilliseconds: 10_000)
                #expect(ping.status.isSuccess, "node \(from) → node \(to): \(ping.standardOutputText)")
            }
            // The router has no route for any pod network.
            let routes = try NetworkNamespace.open(name: "cnilab-\(name)-router").runProcess(
                "/usr/sbin/ip", arguments: ["-4", "route", "show"], timeoutMilliseconds: 10_000).standardOutputText
            #expect(!routes.contains("10.244."), "\(routes)")
            try await addPods(lab)
            let failures = try await lab.probe(ProbeOptions(timeoutMilliseconds: 500)).filter { !$0.connected }
            #expect(failures.isEmpty, "\(failures)")
        }
    }

    /// weave's agents dial the nodes before them at their addresses in their own subnets, and
    /// the fast path's VXLAN crosses the router as flannel's does.
    @Test(.privileged) func weaveCrossesTheRouter() async throws {
        try await withLab(WeaveProfile()) { lab, _ in
            try await addPods(lab)
            let connected = try await CalicoLab.waitUntil(timeoutMilliseconds: 60_000) {
                try await lab.probe(ProbeOptions(timeoutMilliseconds: 500)).allSatisfy(\.connected)
            }
            let failed = connected == nil ? try await lab.probe(ProbeOptions(timeoutMilliseconds: 500)).filter { !$0.connected } : []
            #expect(connected != nil, "\(failed)")
        }
    }

    @Test(.privileged) func routedCalicoFailsAcrossSubnets() async throws {
        try await withLab(.calico(.fast)) { lab, _ in
            try await addPods(lab)
            // Same-subnet a ⟷ c connect once BGP converged; every pair with b (the other subnet) fails.
            let converged = try await CalicoLab.waitUntil(timeoutMilliseconds: 60_000) {
                try await lab.probe(ProbeOptions(ports: [80], protocols: [.tcp], timeoutMilliseconds: 500))
                    .filter { $0.from != "x/b" && $0.to != "x/b" }.allSatisfy(\.connected)
            }
            #expect(converged != nil, "the same-subnet pair connects")
            let results = try await lab.probe(ProbeOptions(ports: [80], protocols: [.tcp], timeoutMilliseconds: 500))
            let crossing = results.filter { $0.from == "x/b" || $0.to == "x/b" }
            #expect(crossing.count == 4 && crossing.allSatisfy { !$0.connected }, "\(crossing)")
        }
    }

    func withLab(_ profile: some LabProfile, _ body: (Lab, String) async throws -> Void) async throws {
        let root = try LabTestSupport.temporaryDirectory()
        let name = LabTestSupport.uniqueLabName()
        let directory = root + "/lab"
        defer {
            _ = try? Lab.down(name: name, stateDirectory: directory)
            try? FileManager.default.removeItem(atPath: root)
        }
        let lab = try await Lab.up(
            LabConfiguration(name: name, stateDirectory: directory, profile: profile, nodeCount: 3, underlaySubnets: 2))
        try await body(lab, name)
        #expect(LabTestSupport.namespaces(of: name).count == 3 + 2 + Self.pods.count)
    }

    func addPods(_ lab: Lab) async throws {
        for (node, pod) in Self.pods.enumerated() { _ = try await lab.addPod(try PodReference(parsing: pod), node: node) }
    }
}
