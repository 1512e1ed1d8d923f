import ArgumentParser
import Datastore
import Foundation
import Lab
import LabProfiles

extension Bench {
    /// `cnilab bench route-reflectors`: the same calico lab as a full mesh and with two route
    /// reflectors, one after the other in one run; per topology the BGP sessions (total and
    /// per node) and how long a joining node takes until every node routes to it and it to every
    /// node. The lab starts with `nodes - 1` nodes; each join adds one more.
    struct RouteReflectors: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "route-reflectors",
            abstract: "calico: full mesh against two route reflectors (cluster 244.0.0.1, nodes 0 and 1); sessions and convergence after a node joins.")
        @Option(help: "Nodes after the join (the lab starts with one fewer).") var nodes = 12
        @Option(help: "Joins measured per topology: the lab grows by one node per join (a removed node's address would come back with a new MAC that the other nodes' ARP caches do not know for about a minute).")
        var runs = 3
        @Flag var json = false

        struct Result: Encodable {
            var topology: String
            var nodes: Int
            /// Established sessions counted at both ends, summed over the `nodes` nodes (after the first join).
            var sessions: Int
            var sessionsPerNode: [Int]
            /// From `node add` until every node has a BGP route to the new node's block and the new node one to every other block.
            var joinMilliseconds: [Double]
            /// From the new node's first pod until every node routes to its block.
            var blockMilliseconds: [Double]
        }

        func run() async throws {
            guard nodes >= 4 else { throw ValidationError("--nodes is at least 4") }
            var results: [Result] = []
            for reflectors in [false, true] {
                results.append(try await measure(reflectors: reflectors))
            }
            if json { return try Output.json(results) }
            print("topology          nodes  sessions  per node (min-max)  join→converged ms (median)  pod→block everywhere ms (median)")
            for result in results {
                let perNode = "\(result.sessionsPerNode.min() ?? 0)-\(result.sessionsPerNode.max() ?? 0)"
                print(
                    result.topology.padding(toLength: 18, withPad: " ", startingAt: 0) + "\(result.nodes)".padding(toLength: 7, withPad: " ", startingAt: 0)
                        + "\(result.sessions)".padding(toLength: 10, withPad: " ", startingAt: 0) + perNode.padding(toLength: 20, withPad: " ", startingAt: 0)
                        + String(format: "%.0f", Self.median(result.joinMilliseconds)).padding(toLength: 28, withPad: " ", startingAt: 0)
                        + String(format: "%.0f", Self.median(result.blockMilliseconds)))
            }
        }

        static func median(_ values: [Double]) -> Double {
            let sorted = values.sorted()
            return sorted.isEmpty ? 0 : sorted[sorted.count / 2]
        }

        func measure(reflectors: Bool) async throws -> Result {
            let topology = reflectors ? "route-reflectors" : "full-mesh"
            let name = "rrbench"
            let directory = LabConfiguration.defaultStateDirectory(lab: name)
            _ = try? Lab.down(name: name, stateDirectory: directory)
            Output.progress("\(topology): \(nodes - 1) nodes…")
            let lab = try await Lab.up(
                LabConfiguration(name: name, stateDirectory: directory, profile: .calico(.fast), nodeCount: nodes - 1))
            do {
                let result = try await measure(lab, topology: topology, reflectors: reflectors)
                _ = try? await lab.down()
                return result
            } catch {
                _ = try? await lab.down()
                throw error
            }
        }

        func measure(_ lab: Lab, topology: String, reflectors: Bool) async throws -> Result {
            if reflectors {
                for index in 0..<2 {
                    try await lab.setNodeBGP(index, labels: ["route-reflector": "true"], routeReflectorClusterID: "244.0.0.1")
                }
                try await lab.putBGPPeer(
                    BGPPeerRecord(name: "peer-with-route-reflectors", nodeSelector: "all()", peerSelector: "route-reflector == 'true'"))
                try await lab.setBGPConfiguration(nodeToNodeMeshEnabled: false, asNumber: nil)
            }
            for index in 0..<(nodes - 1) { _ = try await lab.addPod(try PodReference(namespace: "bench", name: "p\(index)"), node: index) }
            guard try await waitUntil(seconds: 120, { try await converged(lab) }) else {
                throw LabError(.timedOut, "\(topology): the lab did not converge")
            }
            let expectedPerNode = { (index: Int, count: Int) in reflectors ? (index < 2 ? count - 1 : 2) : count - 1 }
            var perNode: [Int] = []
            func sessionsSettle(_ count: Int) async throws {
                guard try await waitUntil(seconds: 60, {
                    perNode = []
                    for node in await lab.nodes() { perNode.append(try await lab.bgpSessions(node.index).established) }
                    return perNode.count == count && perNode.enumerated().allSatisfy { $0.element == expectedPerNode($0.offset, count) }
                }) else { throw LabError(.timedOut, "\(topology): sessions did not settle: \(perNode)") }
            }
            try await sessionsSettle(nodes - 1)

            var joins: [Double] = []
            var blocks: [Double] = []
            for run in 0..<runs {
                let clock = ContinuousClock()
                let start = clock.now
                let node = try await lab.addNode()
                let podStart = clock.now
                _ = try await lab.addPod(try PodReference(namespace: "bench", name: "join\(run)"), node: node.index)
                guard try await waitUntil(seconds: 60, { try await converged(lab) }) else {
                    throw LabError(.timedOut, "\(topology): node \(node.index) did not converge")
                }
                let end = clock.now
                joins.append((end - start) / .milliseconds(1))
                blocks.append((end - podStart) / .milliseconds(1))
                // The sessions of the N-node lab, after the first join.
                if run == 0 { try await sessionsSettle(nodes) }
                Output.progress("  \(topology) join \(run + 1) (node \(node.index), \(node.index + 1) nodes): \(Int(joins.last!)) ms")
            }
            return Result(
                topology: topology, nodes: nodes, sessions: perNode.reduce(0, +), sessionsPerNode: perNode, joinMilliseconds: joins,
                blockMilliseconds: blocks)
        }

        /// Every node routes over BGP to every other node's blocks, via that node.
        func converged(_ lab: Lab) async throws -> Bool {
            let all = await lab.nodes()
            for observer in all {
                var expected: [String: String] = [:]
                for node in all where node.index != observer.index {
                    guard let subnet = node.subnet, !subnet.contains("/16") else { return false }
                    for block in subnet.split(separator: ",") { expected[String(block)] = node.underlayAddress }
                }
                if try await lab.learnedRoutes(observer.index) != expected { return false }
            }
            return true
        }

        func waitUntil(seconds: Int, _ condition: () async throws -> Bool) async throws -> Bool {
            let deadline = ContinuousClock.now + .seconds(seconds)
            while ContinuousClock.now < deadline {
                if try await condition() { return true }
                try await Task.sleep(for: .milliseconds(20))
            }
            return false
        }
    }
}
