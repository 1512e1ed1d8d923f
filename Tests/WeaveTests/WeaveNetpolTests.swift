import Foundation
import Lab
import LabProfiles
import NetpolConformance
import NetpolConformanceLab
import Testing
import TestSupport

/// Upstream's NetworkPolicy e2e cases on a 3-node weave lab: the representative subset in every
/// run, every case with `SWIFTCNI_NETPOL_FULL=1` (or `cnilab netpol --plugins weave`). On a
/// bridge every pod shares one L2 segment, so the policy agent matches pods by address in the
/// IP hooks that bridged traffic passes through (`bridge-nf-call-iptables`).
@Suite(.serialized) struct WeaveNetpolTests {
    @Test(.privileged) func upstreamCasesOnWeave() async throws {
        let root = try TestDirectories.temporary(prefix: "cnilab-weave-np")
        let name = "wn\(UInt32.random(in: 0...UInt32.max) % 1_000_000_000)"
        let directory = root + "/lab"
        defer {
            _ = try? Lab.down(name: name, stateDirectory: directory)
            TestDirectories.remove(root)
        }
        let lab = try await Lab.up(LabConfiguration(name: name, stateDirectory: directory, profile: .weave(), nodeCount: 3))
        let runner = NetpolRunner(lab: lab)
        try await runner.prepare()
        #expect(await lab.pods().count == 9)
        let full = ProcessInfo.processInfo.environment["SWIFTCNI_NETPOL_FULL"] == "1"
        let report = try await runner.run(full ? NetpolCatalogue.all : NetpolCatalogue.representative)
        #expect(report.failed == 0, "\(report.text)")
        print(report.text)
        try await lab.down()
    }
}
