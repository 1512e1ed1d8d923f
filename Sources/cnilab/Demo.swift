import ArgumentParser
import Foundation
import Lab
import LabProfiles

struct Demo: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "up (3 nodes, flannel), 2 pods per node, probe, a summary, down.")
    @OptionGroup var options: LabOptions
    @Option(help: "flannel's backend.") var backend = FlannelBackend.vxlan
    @Flag(help: .hidden) var reference = false

    func run() async throws {
        let started = ContinuousClock.now
        let profile: any LabProfile = reference ? ReferenceProfile() : FlannelProfile(backend: backend)
        Output.progress("[1/4] creating lab '\(options.lab)': 3 nodes, \(profile)…")
        let lab = try await Lab.up(
            LabConfiguration(name: options.lab, stateDirectory: options.directory, profile: profile, nodeCount: 3,
                progress: { Output.progress("  " + $0) }))
        do {
            for node in await lab.nodes() {
                print("node \(node.index) \(node.name) underlay \(node.underlayAddress) subnet \(node.subnet ?? "-")")
            }
            Output.progress("[2/4] adding 2 pods per node…")
            for index in 0..<6 {
                let pod = try await lab.addPod(try PodReference(namespace: "demo", name: "pod\(index)"), node: index / 2, labels: ["app": "demo"])
                print("pod \(pod.qualifiedName) on node \(pod.node): \(pod.address ?? "-")")
            }
            Output.progress("[3/4] probing every pod from every other pod (tcp, udp on 80, 81)…")
            let results = try await lab.probe()
            ProbeMatrix.print(results)
            Output.progress("[4/4] removing the lab…")
            try await lab.down()
            let connected = results.filter(\.connected).count
            let elapsed = ContinuousClock.now - started
            let milliseconds = elapsed.components.seconds * 1000 + elapsed.components.attoseconds / 1_000_000_000_000_000
            print("summary: 3 nodes, 6 pods, \(connected)/\(results.count) connected in \(milliseconds) ms, lab removed")
            if connected != results.count { throw ExitCode(1) }
        } catch let exit as ExitCode {
            throw exit
        } catch {
            Output.error("demo failed: \(error); removing the lab")
            _ = try? await lab.down()
            throw error
        }
    }
}
