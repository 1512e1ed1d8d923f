import Foundation
import Lab
import LabProfiles
import NetpolConformance
import NetpolConformanceLab
import NetPrimitives
import Testing
import TestSupport

/// Upstream's NetworkPolicy e2e cases (``NetpolCatalogue``) on a live 3-node lab, one lab per
/// plugin: the representative subset in every run, every case when `SWIFTCNI_NETPOL_FULL=1`
/// (the long suite, run by hand: `SWIFTCNI_NETPOL_FULL=1 swift test --filter Netpol`, or
/// `cnilab netpol`). Each suite also shows the runner fails on a wrong truth table.
@Suite(.serialized) struct NetpolCanalLabTests {
    @Test(.privileged) func upstreamCasesOnCanal() async throws {
        try await NetpolLabRun.run(profile: .canal)
    }
}

@Suite(.serialized) struct NetpolCalicoLabTests {
    @Test(.privileged) func upstreamCasesOnCalico() async throws {
        try await NetpolLabRun.run(profile: .calico(.standard))
    }
}

/// The same cases over IPv6 in a dual-stack calico lab: probes between the pods' IPv6
/// addresses, `ipBlock` peers as /128s (issue 16 item 1: policies with IPv6 peers; every case
/// passes on calico and canal in `ipv6` labs too, `cnilab netpol --ip-family ipv6`).
@Suite(.serialized) struct NetpolDualStackLabTests {
    @Test(.privileged) func upstreamCasesOverIPv6OnDualStackCalico() async throws {
        try await NetpolLabRun.run(profile: .calico(.standard), ipFamily: .dual, probeFamily: .v6)
    }
}

enum NetpolLabRun {
    static var runsFullSuite: Bool { ProcessInfo.processInfo.environment["SWIFTCNI_NETPOL_FULL"] == "1" }

    /// Ingress isolation of every pod in namespace x.
    static let denyIngressToX = CanalLabTests.defaultDeny

    static func run(profile: some LabProfile, ipFamily: LabIPFamily = .ipv4, probeFamily: IPAddress.Family? = nil) async throws {
        let root = try LabTestSupport.temporaryDirectory()
        let name = LabTestSupport.uniqueLabName()
        let directory = root + "/lab"
        defer {
            _ = try? Lab.down(name: name, stateDirectory: directory)
            try? FileManager.default.removeItem(atPath: root)
        }
        let lab = try await Lab.up(
            LabConfiguration(name: name, stateDirectory: directory, profile: profile, nodeCount: 3, ipFamily: ipFamily))
        let runner = NetpolRunner(lab: lab, options: NetpolRunOptions(family: probeFamily))
        try await runner.prepare()
        #expect(await lab.pods().count == 9)

        // The runner can fail: a table that ignores a deny-ingress policy, and one that expects
        // isolation where there is no policy, are both reported pair by pair.
        var wrongOpen = Reachability(allConnected: true)
        let ignoringPolicy = await runner.run(
            NetpolCase(id: "wrong-open", upstreamTitle: "(self test)", steps: [.apply(denyIngressToX), .probe(wrongOpen)]))
        #expect(!ignoringPolicy.passed)
        let blockedIntoX = Set(ignoringPolicy.probes.flatMap(\.mismatches).map { "\($0.from)>\($0.to)" })
        var expectedBlocked: Set<String> = []
        for from in NetpolModel.pods {
            for to in NetpolModel.pods where to.namespace == "x" && to != from { expectedBlocked.insert("\(from)>\(to)") }
        }
        #expect(blockedIntoX == expectedBlocked, "\(ignoringPolicy.probes.flatMap(\.mismatches))")
        #expect(ignoringPolicy.probes.flatMap(\.mismatches).allSatisfy { $0.expected })
        wrongOpen.expectAllIngress(NetpolPod("y", "a"), false)
        let isolatingNothing = await runner.run(NetpolCase(id: "wrong-closed", upstreamTitle: "(self test)", steps: [.probe(wrongOpen, protocols: [.udp])]))
        #expect(isolatingNothing.probes.flatMap(\.mismatches).count == 8)
        #expect(isolatingNothing.probes.flatMap(\.mismatches).allSatisfy { !$0.expected && $0.to == "y/a" && $0.protocol == .udp })
        #expect(try await lab.policies().isEmpty, "the runner restores the initial state")

        let cases = runsFullSuite ? NetpolCatalogue.all : NetpolCatalogue.representative
        #expect(!cases.isEmpty)
        let report = try await runner.run(cases)
        #expect(report.failed == 0, "\(report.text)")
        print(report.text)
        try await lab.down()
        #expect(LabTestSupport.namespaces(of: name).isEmpty)
    }
}
