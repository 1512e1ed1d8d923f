import CNISpec
import Datastore
import Foundation
import Lab
import Testing
import TestSupport

/// A profile defined here, outside the Lab and LabProfiles libraries, through the public
/// `LabProfile` protocol only: the reference `ptp` + `host-local` plugins (from /usr/lib/cni),
/// a small shell agent per node that "leases" the node's subnet by writing it to a file, the
/// lab's static routes between the nodes, and a store key per node that left.
struct PointToPointTestProfile: LabProfile, Hashable {
    static let kind = "test-ptp"
    /// The third octet of node I's subnet is `firstOctet + I` (a setting the state file keeps).
    var firstOctet = 1

    var description: String { "test-ptp (ptp + host-local, 10.250.\(firstOctet)+I.0/24)" }

    static let configurationKey = "/cnilab-test/ptp/config"
    static func leftKey(_ node: String) -> String { "/cnilab-test/ptp/left/" + node }
    static func leaseFile(_ node: LabNode, _ lab: LabProfileContext) -> String { lab.nodeDirectory(node.index) + "/lease" }

    func validate() throws {
        guard (1...200).contains(firstOctet) else { throw LabError(.invalidArgument, "firstOctet is 1–200, not \(firstOctet)") }
    }

    func prepare(_ lab: LabProfileContext) async throws {
        try await lab.put(Self.configurationKey, #"{"network":"10.250.0.0/16"}"#)
    }

    func agentCommand(for node: LabNode, in lab: LabProfileContext) throws -> AgentCommand? {
        let subnet = "10.250.\(firstOctet + node.index).0/24"
        // Writes the lease after a moment, as an agent that asks a store would; then stays up (as `sh`,
        // so the lab recognises its process by name).
        return lab.expand(
            AgentCommand(
                executable: "/bin/sh",
                arguments: ["-c", "sleep 0.2; echo \(subnet) > {state}/lease.tmp && mv {state}/lease.tmp {state}/lease; sleep 3600"]),
            node: node)
    }

    func waitUntilReady(_ node: LabNode, in lab: LabProfileContext) async throws -> String? {
        let path = Self.leaseFile(node, lab)
        return try await lab.waitForAgent(of: node.index, timeout: .seconds(10), "wrote no \(path)") {
            guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { return nil }
            let subnet = text.trimmingCharacters(in: .whitespacesAndNewlines)
            return subnet.isEmpty ? nil : subnet
        }
    }

    func networkConfiguration(for node: LabNode, in lab: LabProfileContext) throws -> NetworkConfigurationList {
        guard let subnet = node.subnet else { throw LabError(.notFound, "node \(node.index) has no lease yet") }
        return NetworkConfigurationList(cniVersion: "1.0.0", name: "test-ptp", plugins: [
            [
                "type": "ptp", "ipMasq": false,
                "ipam": [
                    "type": "host-local", "subnet": .string(subnet), "dataDir": .string(lab.nodeDirectory(node.index) + "/ipam"),
                    "routes": [["dst": "10.250.0.0/16"]],
                ],
            ]
        ])
    }

    func nodesChanged(_ lab: LabProfileContext) async throws { try await lab.programStaticRoutes() }

    func nodeLeft(_ node: LabNode, in lab: LabProfileContext) async throws {
        try await lab.put(Self.leftKey(node.name), node.subnet ?? "")
    }
}

@Suite(.serialized) struct OutsideProfileLabTests {
    /// The settings survive the state file, and a bad one is refused before anything exists.
    @Test func profileIsValidatedAndRoundTrips() async throws {
        let profile = PointToPointTestProfile(firstOctet: 7)
        #expect(try JSONDecoder().decode(PointToPointTestProfile.self, from: JSONEncoder().encode(profile)) == profile)
        #expect(profile.name == "test-ptp" && !profile.enforcesPolicy)
        let root = try LabTestSupport.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: root) }
        await #expect(throws: LabError.self) {
            _ = try await Lab.up(LabConfiguration(name: "ptpinvalid", stateDirectory: root + "/lab", profile: PointToPointTestProfile(firstOctet: 0)))
        }
        #expect(!FileManager.default.fileExists(atPath: root + "/lab/state.json"))
    }

    @Test(.privileged) func labWithAProfileDefinedInTheTestTarget() async throws {
        let root = try LabTestSupport.temporaryDirectory()
        let name = LabTestSupport.uniqueLabName()
        let directory = root + "/lab"
        defer {
            _ = try? Lab.down(name: name, stateDirectory: directory)
            try? FileManager.default.removeItem(atPath: root)
        }
        do {
            let lab = try await Lab.up(
                LabConfiguration(name: name, stateDirectory: directory, profile: PointToPointTestProfile(firstOctet: 11), nodeCount: 2))
            // Readiness: the subnets are what each node's agent leased.
            let nodes = await lab.nodes()
            #expect(nodes.map(\.subnet) == ["10.250.11.0/24", "10.250.12.0/24"])
            #expect(nodes.allSatisfy { $0.agent == .running })
            #expect(await lab.status().plugin == "test-ptp")
            #expect(await lab.enforcesPolicy == false)
            // The conflist the runtime gets is the profile's.
            let conflist = try String(contentsOfFile: directory + "/nodes/1/network.conflist", encoding: .utf8)
            #expect(conflist.contains("\"ptp\"") && conflist.contains("10.250.12.0/24"))
        }

        // Another command opens the lab with the profile types it knows: the state file names the
        // kind, the settings come back; a program that does not know the kind is told so.
        do {
            #expect(throws: LabError.self) { _ = try Lab.open(name: name, stateDirectory: directory, profiles: []) }
            let lab = try Lab.open(name: name, stateDirectory: directory, profiles: [PointToPointTestProfile.self])
            #expect((lab.profile as? PointToPointTestProfile)?.firstOctet == 11)

            let a = try await lab.addPod(try PodReference(parsing: "ptp/a"), node: 0)
            let b = try await lab.addPod(try PodReference(parsing: "ptp/b"), node: 1)
            #expect(a.address?.hasPrefix("10.250.11.") == true && b.address?.hasPrefix("10.250.12.") == true)
            // Across nodes only through the lab's static routes (ptp routes nothing between nodes).
            let results = try await lab.probe(ProbeOptions(ports: [80], protocols: [.tcp, .udp], timeoutMilliseconds: 500))
            let unreached = results.filter { !$0.connected }
            #expect(results.count == 4 && unreached.isEmpty, "\(unreached)")

            // A third node joins: leased, routed, reachable.
            let joined = try await lab.addNode()
            #expect(joined.subnet == "10.250.13.0/24")
            let c = try await lab.addPod(try PodReference(parsing: "ptp/c"), node: joined.index)
            #expect(c.address?.hasPrefix("10.250.13.") == true)
            let all = try await lab.probe(ProbeOptions(ports: [80], protocols: [.tcp], timeoutMilliseconds: 500))
            let unreachedAfterJoin = all.filter { !$0.connected }
            #expect(all.count == 6 && unreachedAfterJoin.isEmpty, "\(unreachedAfterJoin)")

            // Teardown of a node: the profile's nodeLeft ran (its store key), the node is gone.
            try await lab.removeNode(1)
            let store = try StoreLocation.open("file:" + directory + "/store")
            let left = try await store.get(PointToPointTestProfile.leftKey("node-1"))
            let configuration = try await store.get(PointToPointTestProfile.configurationKey)
            await store.close()
            #expect(left.map { String(decoding: $0.value, as: UTF8.self) } == "10.250.12.0/24")
            #expect(configuration != nil)
            #expect(await lab.nodes().map(\.index) == [0, 2])
            let remaining = try await lab.probe(ProbeOptions(ports: [80], protocols: [.tcp], timeoutMilliseconds: 500))
            #expect(remaining.count == 2 && remaining.allSatisfy(\.connected))

            let report = try await lab.down()
            #expect(report.removedStateDirectory)
        }
        #expect(LabTestSupport.namespaces(of: name).isEmpty)
    }
}
