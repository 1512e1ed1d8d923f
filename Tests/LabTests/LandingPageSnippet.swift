import CNISpec
import Lab
import LabProfiles

/// The landing-page snippet of the Lab documentation (Lab.docc/Lab.md), kept here so it keeps
/// compiling; the privileged tests run the same calls on their own lab names.
func landingPageSnippet() async throws {
    // 2 nodes on a shared underlay bridge, the reference bridge + host-local plugins.
    let lab = try await Lab.up(LabConfiguration(name: "demo", profile: .reference(agent: nil), nodeCount: 2))
    try await lab.addPod(try PodReference(parsing: "web/a"), node: 0, labels: ["app": "web"])
    try await lab.addPod(try PodReference(parsing: "web/b"), node: 1)
    for result in try await lab.probe() where !result.connected {
        print("\(result.from) -> \(result.to) \(result.protocol)/\(result.port) failed")
    }
    try await lab.down()   // every namespace, process and file of the lab
}

/// The profile example of Lab.docc ("Profiles"), kept here so it keeps compiling.
struct MyProfile: LabProfile {
    static let kind = "mine"
    func agentCommand(for node: LabNode, in lab: LabProfileContext) throws -> AgentCommand? { nil }
    func networkConfiguration(for node: LabNode, in lab: LabProfileContext) throws -> NetworkConfigurationList {
        NetworkConfigurationList(cniVersion: "1.0.0", name: "mine", plugins: [
            ["type": "ptp", "ipam": ["type": "host-local", "subnet": .string("10.250.\(node.index + 1).0/24"),
                                     "dataDir": .string(lab.nodeDirectory(node.index) + "/ipam")]],
        ])
    }
}
