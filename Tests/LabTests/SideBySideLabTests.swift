import Foundation
import Lab
import LabProfiles
import Namespaces
import Testing
import TestSupport

/// Two labs at once, with the same addresses inside: each sees only its own pods, and
/// removing one leaves the other working.
@Suite(.serialized) struct SideBySideLabTests {
    @Test(.privileged) func twoLabsStayApart() async throws {
        let root = try LabTestSupport.temporaryDirectory()
        let names = [LabTestSupport.uniqueLabName() + "a", LabTestSupport.uniqueLabName() + "b"]
        defer {
            for name in names { _ = try? Lab.down(name: name, stateDirectory: root + "/" + name) }
            try? FileManager.default.removeItem(atPath: root)
        }
        var labs: [Lab] = []
        for name in names {
            let lab = try await Lab.up(LabConfiguration(name: name, stateDirectory: root + "/" + name, profile: .reference(agent: nil), nodeCount: 1))
            try await lab.addPod(try PodReference(parsing: "x/a"), node: 0)
            try await lab.addPod(try PodReference(parsing: "x/b"), node: 0)
            labs.append(lab)
        }
        let first = await labs[0].pods(), second = await labs[1].pods()
        #expect(first.map(\.address) == second.map(\.address))
        #expect(Set(first.map(\.networkNamespace)).isDisjoint(with: second.map(\.networkNamespace)))
        for lab in labs {
            let results = try await lab.probe(ProbeOptions(timeoutMilliseconds: 500))
            #expect(results.count == 8)
            #expect(results.allSatisfy { $0.connected }, "\(results.filter { !$0.connected })")
        }
        try await labs[0].down()
        #expect(LabTestSupport.namespaces(of: names[0]).isEmpty)
        #expect(LabTestSupport.namespaces(of: names[1]).count == 1 + 1 + 2)
        #expect(try await labs[1].probe().allSatisfy { $0.connected })
        try await labs[1].down()
        #expect(LabTestSupport.namespaces(of: names[1]).isEmpty)
    }
}
