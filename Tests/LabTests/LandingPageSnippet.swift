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
