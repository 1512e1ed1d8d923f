import CNISpec
import ChildProcess
import Foundation
import Namespaces
import TestSupport
import Testing

/// `ipam.type` `host-local` is served in process with the reference plugin's files: no
/// host-local binary is needed, and the reference plugin reads what swift-calico wrote.
@Suite(.serialized) struct HostLocalInProcessTests {
    @Test(.privileged) func addWithoutTheBinaryAndReleaseByTheReferencePlugin() async throws {
        let directory = try TestDirectories.temporary(prefix: "swcni-calico-")
        defer { TestDirectories.remove(directory) }
        try await NamespaceFixture.with(count: 2) { namespaces in
            let (node, pod) = (namespaces[0], namespaces[1])
            let harness = CalicoTestNode(node: node, directory: directory)
            let empty = directory + "/empty-cni-path"
            try FileManager.default.createDirectory(atPath: empty, withIntermediateDirectories: true)
            let configuration = #"{"cniVersion":"1.0.0","name":"k8s-pod-network","type":"swift-calico","ipam":{"type":"host-local","subnet":"10.65.0.0/24","dataDir":"\#(harness.dataDirectory)"}}"#
            func environment(_ command: String) -> [String: String] {
                [
                    "CNI_COMMAND": command, "CNI_CONTAINERID": "inproc-1", "CNI_IFNAME": "eth0", "CNI_NETNS": pod.path,
                    "CNI_PATH": empty, "PATH": "/usr/sbin:/usr/bin:/sbin:/bin",
                ]
            }
            let add = try node.runProcess(
                TestDirectories.products + "/swift-calico", environment: environment("ADD"),
                standardInput: Array(configuration.utf8), timeoutMilliseconds: 30_000)
            #expect(add.status == .exited(0), "\(add.standardOutputText) \(add.standardErrorText)")
            #expect(add.standardOutputText.contains("10.65.0.2/32"))
            #expect(harness.reservedAddresses() == ["10.65.0.2"])
            let record = try String(contentsOfFile: harness.dataDirectory + "/k8s-pod-network/10.65.0.2", encoding: .utf8)
            #expect(record == "inproc-1\r\neth0")
            #expect(try String(contentsOfFile: harness.dataDirectory + "/k8s-pod-network/last_reserved_ip.0", encoding: .utf8) == "10.65.0.2")
            // The reference host-local releases swift-calico's reservation.
            let ipam = #"{"cniVersion":"1.0.0","name":"k8s-pod-network","type":"host-local","ipam":{"type":"host-local","subnet":"10.65.0.0/24","dataDir":"\#(harness.dataDirectory)"}}"#
            let release = try node.runProcess(
                "/usr/lib/cni/host-local", environment: environment("DEL"), standardInput: Array(ipam.utf8),
                timeoutMilliseconds: 30_000)
            #expect(release.status == .exited(0), "\(release.standardOutputText)")
            #expect(harness.reservedAddresses().isEmpty)
            let delete = try node.runProcess(
                TestDirectories.products + "/swift-calico", environment: environment("DEL"),
                standardInput: Array(configuration.utf8), timeoutMilliseconds: 30_000)
            #expect(delete.status == .exited(0))
        }
    }
}
