import CNISpec
import ChildProcess
import Foundation
import Namespaces
import NetPrimitives
import Testing
import TestSupport

/// podman 4.3 with its CNI backend creates containers on swift-ptp (host-local in process,
/// portmap chained), in TestSupport's `PodmanSandbox`: the conflist is the example's, with the
/// data directory in the test's directory.
@Suite(.serialized) struct PodmanTests {
    static let network = "swcni-ptpnet"

    @Test(.privileged) func twoContainersOnSwiftPTPPingEachOther() async throws {
        try #require(FileManager.default.isExecutableFile(atPath: "/usr/bin/podman"), "podman is not installed")
        let directory = try TestDirectories.temporary(prefix: "swcni-ptp-")
        defer { TestDirectories.remove(directory) }
        try await NamespaceFixture.with(count: 1) { namespaces in
            let environment = try PodmanSandbox(
                directory: directory, node: namespaces[0], network: Self.network,
                conflist: """
                    {"cniVersion": "1.0.0", "name": "\(Self.network)", "plugins": [
                      {"type": "swift-ptp", "ipMasq": true, "mtu": 1500,
                       "ipam": {"type": "host-local", "subnet": "10.89.0.0/24", "dataDir": "\(directory)/data",
                                "routes": [{"dst": "0.0.0.0/0"}]}},
                      {"type": "portmap", "capabilities": {"portMappings": true}}
                    ]}
                    """,
                plugins: ["swift-ptp": TestDirectories.products + "/swift-ptp"])
            defer { environment.tearDown() }
            var addresses: [String] = []
            for name in ["swcni-p1", "swcni-p2"] {
                let run = try environment.podman([
                    "run", "-d", "--cgroups=disabled", "--name", name, "--network", Self.network,
                    "--rootfs", environment.rootFileSystem, "/bin/sleep", "300",
                ])
                #expect(run.status == .exited(0), "podman run \(name): \(run.standardErrorText)")
                let inspect = try environment.podman([
                    "inspect", "-f", "{{(index .NetworkSettings.Networks \"\(Self.network)\").IPAddress}}", name,
                ])
                let address = inspect.standardOutputText.trimmingCharacters(in: .whitespacesAndNewlines)
                #expect(IPNetwork("10.89.0.0/24").contains(IPAddress(address) ?? IPAddress("0.0.0.0")), "\(name) got \(address)")
                let inside = try environment.podman(["exec", name, "ip", "-4", "-o", "addr", "show", "eth0"])
                #expect(inside.standardOutputText.contains(address + "/24"))
                let routes = try environment.podman(["exec", name, "ip", "route"])
                #expect(routes.standardOutputText.contains("default via 10.89.0.1 dev eth0"))
                addresses.append(address)
            }
            try #require(addresses.count == 2)
            #expect(Set(addresses).count == 2)
            // Pod to pod through the node (each host end carries the gateway, routes the pod).
            let ping = try environment.podman(["exec", "swcni-p1", "ping", "-c", "2", "-W", "1", addresses[1]])
            #expect(ping.status == .exited(0), "ping: \(ping.standardOutputText) \(ping.standardErrorText)")
            // podman rm runs DEL: the addresses and the masquerade chains are gone.
            try environment.podman(["rm", "-f", "-t", "0", "swcni-p1", "swcni-p2"])
            let after = try FileManager.default.contentsOfDirectory(atPath: directory + "/data/" + Self.network)
            #expect(after.filter { IPAddress($0) != nil }.isEmpty)
            #expect(!(try namespaces[0].natRules().contains("CNI-")))
        }
    }
}
