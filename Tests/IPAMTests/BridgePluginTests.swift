import ChildProcess
import Foundation
import Namespaces
import Testing
import TestSupport
#if canImport(Glibc)
import Glibc
#endif

/// The reference `bridge` plugin delegating to swift-ipam, run inside a node namespace, wires a
/// pod namespace; DEL returns the address.
@Suite(.serialized) struct BridgePluginTests {
    @Test(.privileged) func referenceBridgeWithSwiftIPAMNetworksAPod() async throws {
        try #require(access(PluginHarness.swiftIPAM, X_OK) == 0, "build swift-ipam first (swift build)")
        try await withTemporaryDirectory { directory in
            // A CNI_PATH with swift-ipam next to the reference plugins.
            let bin = directory + "/bin"
            mkdir(bin, 0o755)
            symlink(PluginHarness.swiftIPAM, bin + "/swift-ipam")
            for name in listDirectory("/usr/lib/cni") { symlink("/usr/lib/cni/" + name, bin + "/" + name) }
            try await NamespaceFixture.with(count: 2) { namespaces in
                let (node, pod) = (namespaces[0], namespaces[1])
                let configuration = """
                    {"cniVersion":"1.0.0","name":"brnet","type":"bridge","bridge":"cni0","isGateway":true,
                     "ipam":{"type":"swift-ipam","ranges":[[{"subnet":"10.88.0.0/24"}]],"routes":[{"dst":"0.0.0.0/0"}],"dataDir":"\(directory)/data"}}
                    """
                func environment(_ command: String) -> [String: String] {
                    ["CNI_COMMAND": command, "CNI_CONTAINERID": "pod1", "CNI_NETNS": pod.path, "CNI_IFNAME": "eth0",
                     "CNI_PATH": bin, "PATH": "/usr/sbin:/usr/bin:/sbin:/bin"]
                }
                let (addEnvironment, deleteEnvironment) = (environment("ADD"), environment("DEL"))
                let add = try await offPool {
                    try node.runProcess(bin + "/bridge", environment: addEnvironment, standardInput: Array(configuration.utf8), timeoutMilliseconds: 20000)
                }
                #expect(add.status == .exited(0), "\(add.standardOutputText) \(add.standardErrorText)")
                #expect(add.standardOutputText.contains("\"10.88.0.2/24\""), "\(add.standardOutputText)")
                #expect(readText("\(directory)/data/brnet/10.88.0.2") == "pod1\r\neth0")
                let addresses = try await offPool { try pod.runProcess("/usr/sbin/ip", arguments: ["-4", "-o", "addr", "show", "dev", "eth0"]) }
                #expect(addresses.standardOutputText.contains("10.88.0.2/24"))
                let routes = try await offPool { try pod.runProcess("/usr/sbin/ip", arguments: ["route"]) }
                #expect(routes.standardOutputText.contains("default via 10.88.0.1"))
                let ping = try await offPool { try node.runProcess("/usr/bin/ping", arguments: ["-c", "1", "-W", "2", "10.88.0.2"], timeoutMilliseconds: 5000) }
                #expect(ping.status == .exited(0), "\(ping.standardOutputText)")
                let delete = try await offPool {
                    try node.runProcess(bin + "/bridge", environment: deleteEnvironment, standardInput: Array(configuration.utf8), timeoutMilliseconds: 20000)
                }
                #expect(delete.status == .exited(0), "\(delete.standardOutputText)")
                #expect(readText("\(directory)/data/brnet/10.88.0.2") == nil)
            }
        }
    }
}
