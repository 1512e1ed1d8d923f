import CNISpec
import ChildProcess
import Foundation
import Namespaces
import NetPrimitives
import Testing
import TestSupport

/// podman 4.3 with its CNI backend creates containers whose network's plugin is swift-flannel,
/// in TestSupport's `PodmanSandbox` (podman confined to a node namespace and a private mount
/// namespace). The plugin's state (subnet.env, address store) lives in the temporary directory, which the
/// private mount namespace does not hide.
@Suite(.serialized) struct PodmanTests {
    static let network = "swcni-podnet"

    @Test(.privileged) func twoContainersOnSwiftFlannelPingEachOther() async throws {
        try #require(FileManager.default.isExecutableFile(atPath: "/usr/bin/podman"), "podman is not installed")
        let directory = try TestDirectories.temporary(prefix: "swcni-flannel-")
        defer { TestDirectories.remove(directory) }
        try await NamespaceFixture.with(count: 1) { namespaces in
            let environment = try PodmanSandbox(
                directory: directory, node: namespaces[0], network: Self.network,
                conflist: """
                    {"cniVersion": "1.0.0", "name": "\(Self.network)", "plugins": [
                      {"type": "swift-flannel", "subnetFile": "\(directory)/subnet.env", "dataDir": "\(directory)/data",
                       "delegate": {"bridge": "cni0", "hairpinMode": true, "isDefaultGateway": true}},
                      {"type": "portmap", "capabilities": {"portMappings": true}}
                    ]}
                    """,
                plugins: ["swift-flannel": TestDirectories.products + "/swift-flannel"],
                files: ["subnet.env": "FLANNEL_NETWORK=10.244.0.0/16\nFLANNEL_SUBNET=10.244.3.1/24\nFLANNEL_MTU=1450\nFLANNEL_IPMASQ=true\n"])
            defer { environment.tearDown() }
            var addresses: [String] = []
            for name in ["swcni-c1", "swcni-c2"] {
                let run = try environment.podman([
                    "run", "-d", "--cgroups=disabled", "--name", name, "--network", Self.network,
                    "--rootfs", directory + "/rootfs", "/bin/sleep", "300",
                ])
                #expect(run.status == .exited(0), "podman run \(name): \(run.standardErrorText)")
                let inspect = try environment.podman([
                    "inspect", "-f", "{{(index .NetworkSettings.Networks \"\(Self.network)\").IPAddress}}", name,
                ])
                let address = inspect.standardOutputText.trimmingCharacters(in: .whitespacesAndNewlines)
                #expect(IPNetwork("10.244.3.0/24").contains(IPAddress(address) ?? IPAddress("0.0.0.0")), "\(name) got \(address)")
                let inside = try environment.podman(["exec", name, "ip", "-4", "-o", "addr", "show", "eth0"])
                #expect(inside.standardOutputText.contains(address + "/24"))
                addresses.append(address)
            }
            try #require(addresses.count == 2)
            #expect(Set(addresses).count == 2)
            // The address store is swift-flannel's, in host-local's format, outside /var/lib.
            let reserved = try FileManager.default.contentsOfDirectory(atPath: directory + "/data/" + Self.network)
            #expect(Set(reserved.filter { IPAddress($0) != nil }) == Set(addresses))
            let ping = try environment.podman(["exec", "swcni-c1", "ping", "-c", "2", "-W", "1", addresses[1]])
            #expect(ping.status == .exited(0), "ping: \(ping.standardOutputText) \(ping.standardErrorText)")
            let back = try environment.podman(["exec", "swcni-c2", "ping", "-c", "1", "-W", "1", addresses[0]])
            #expect(back.status == .exited(0))
            // podman rm runs DEL: the addresses are released.
            try environment.podman(["rm", "-f", "-t", "0", "swcni-c1", "swcni-c2"])
            let after = try FileManager.default.contentsOfDirectory(atPath: directory + "/data/" + Self.network)
            #expect(after.filter { IPAddress($0) != nil }.isEmpty)
        }
    }
}
