import PolicyTestFixtures
import NetPrimitives
import Testing
@testable import Policy

@Suite struct IncrementalCompilerTests {
    /// Random endpoint churn on random worlds: after every step the incremental program equals a
    /// full compilation, and the reported changes equal the diff of the two programs.
    @Test(arguments: 0..<24)
    func matchesFullCompilationAfterEveryStep(seed: Int) throws {
        let world = RandomizedTests.world(seed: UInt64(5000 + seed), calico: seed % 2 == 0)
        let node: String? = seed % 3 == 0 ? "node" : nil
        var compiler = IncrementalCompiler(policies: world.policies, cluster: world.cluster, node: node)
        var random = SeededGenerator(state: UInt64(seed))
        for step in 0..<12 {
            let before = compiler.program
            var endpoints = compiler.cluster.endpoints
            let changes: ProgramChanges
            switch Int.random(in: 0..<4, using: &random) {
            case 0 where !endpoints.isEmpty:
                changes = compiler.remove(endpoints.randomElement(using: &random)!.id)
            case 1:
                let fresh = Endpoint(namespace: ["n1", "n2"].randomElement(using: &random)!, name: "new\(step)",
                                     addresses: [.v4(IPv4Address(10, 1, 0, UInt8(100 + step)))],
                                     labels: ["a": RandomizedTests.values.randomElement(using: &random)!],
                                     namespaceLabels: endpoints.first?.namespaceLabels ?? [:],
                                     namedPorts: [NamedPort(name: "web", port: 80)],
                                     node: Bool.random(using: &random) ? "node" : "other")
                changes = try compiler.upsert(fresh)
            default:
                guard !endpoints.isEmpty else { continue }
                let position = Int.random(in: 0..<endpoints.count, using: &random)
                endpoints[position].labels["a"] = endpoints[position].labels["a"] == "1" ? "2" : "1"
                if Bool.random(using: &random) { endpoints[position].labels["b"] = nil }
                if Bool.random(using: &random) { endpoints[position].namedPorts = [NamedPort(name: "web", port: 81)] }
                changes = try compiler.upsert(endpoints[position])
            }
            let full = PolicyProgram(compiling: world.policies, cluster: compiler.cluster, node: node)
            #expect(compiler.program == full, "seed \(seed) step \(step)")
            let diff = before.changes(to: full)
            #expect(changes.elementChangeCount == diff.elementChangeCount)
            #expect(Set(changes.addressSetElements.map(\.name)) == Set(diff.addressSetElements.map(\.name)))
            #expect(changes.addedEndpoints == diff.addedEndpoints && changes.removedEndpoints == diff.removedEndpoints)
            #expect(changes.changedEndpoints == diff.changedEndpoints)
            #expect(changes.isElementOnly == diff.isElementOnly)
        }
    }

    @Test func peerLabelChangeIsElementOnly() throws {
        var compiler = IncrementalCompiler(policies: ProgramTests.policies, cluster: ClusterFixture.cluster)
        var pod = compiler.cluster[EndpointID(namespace: "z", name: "c")]!
        pod.labels["pod"] = "b"
        let changes = try compiler.upsert(pod)
        #expect(changes.isElementOnly)
        #expect(changes.addressSetElements.map(\.added) == [[AddressRange(address: ClusterFixture.address("z", "c"))]])
        #expect(changes.addressSetElements.map(\.removed) == [[]])
        // Selected pod: its own chains change, the rules do not.
        var selected = compiler.cluster[EndpointID(namespace: "x", name: "b")]!
        selected.labels["pod"] = "a"
        let selection = try compiler.upsert(selected)
        #expect(!selection.isElementOnly && selection.changedEndpoints.map(\.id) == [selected.id])
        #expect(selection.changedPolicies.isEmpty && selection.addedPolicies.isEmpty)
        #expect(throws: PolicyError.self) {
            try compiler.upsert(Endpoint(namespace: "q", name: "dup", addresses: [ClusterFixture.address("y", "a")]))
        }
        #expect(compiler.remove(EndpointID(namespace: "q", name: "none")).isEmpty)
    }
}
