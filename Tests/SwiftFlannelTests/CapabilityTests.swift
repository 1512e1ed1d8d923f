import CNISpec
import Foundation
import Namespaces
import NetPrimitives
import Routing
import Testing
import TestSupport

/// The capabilities real runtimes pass in `runtimeConfig`: swift-flannel honours `mac`, `ips`
/// and `dns` itself; `portMappings` and `bandwidth` go to the reference portmap and bandwidth
/// plugins chained after it; a capability swift-flannel is declared for but does not honour
/// is refused with the spec's error.
@Suite(.serialized) struct CapabilityTests {
    static let server = """
        import socket
        s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind(("0.0.0.0", 80)); s.listen(1); s.settimeout(60)
        c, _ = s.accept(); c.sendall(b"hello from the pod\\n"); c.close()
        """
    static let client = """
        import socket, sys
        c = socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=5)
        print(c.recv(100).decode().strip())
        """

    @Test(.privileged) func chainedCapabilities() async throws {
        let directory = try TestDirectories.temporary(prefix: "swcni-flannel-")
        defer { TestDirectories.remove(directory) }
        try await NamespaceFixture.with(count: 3) { namespaces in
            let (node, pod, client) = (namespaces[0], namespaces[1], namespaces[2])
            let harness = try FlannelTestNode(node: node, directory: directory)
            // A default route in the pod, so it answers the client's address.
            var flannel = harness.pluginConfiguration(defaultGateway: true)
            flannel["capabilities"] = ["mac": true, "ips": true, "dns": true]
            let list = NetworkConfigurationList(cniVersion: "1.0.0", name: "cbr0", plugins: [
                flannel,
                ["type": "portmap", "capabilities": ["portMappings": true]],
                ["type": "bandwidth", "capabilities": ["bandwidth": true]],
            ])
            let attachment = RuntimeAttachment(
                containerID: "caps-1", networkNamespace: pod.path, interfaceName: "eth0",
                capabilityArguments: [
                    "portMappings": [["hostPort": 18081, "containerPort": 80, "protocol": "tcp"]],
                    "bandwidth": ["ingressRate": 8_000_000, "ingressBurst": 80_000, "egressRate": 8_000_000, "egressBurst": 80_000],
                    "mac": "0a:58:0a:f4:01:63",
                    "ips": ["10.244.1.99/24"],
                    "dns": ["servers": ["10.96.0.10"], "searches": ["default.svc.cluster.local"], "options": ["ndots:5"]],
                ])
            let result = try await harness.runtime.add(list, attachment).current()

            // ips: the requested address; mac: the pod's interface; dns: in the result.
            #expect(result.ips.first?.address.description == "10.244.1.99/24", "\(result.ips)")
            #expect(try pod.ip(["-o", "link", "show", "eth0"]).contains("0a:58:0a:f4:01:63"))
            #expect(result.interfaces.contains { $0.name == "eth0" && $0.mac?.description == "0a:58:0a:f4:01:63" })
            #expect(result.dns.nameservers == ["10.96.0.10"] && result.dns.search == ["default.svc.cluster.local"])
            #expect(result.dns.options == ["ndots:5"])

            // bandwidth: the reference plugin's token bucket on the host end.
            let hostInterface = PodInterfaceNaming.hostInterfaceName(containerID: "caps-1", interfaceName: "eth0").value
            let qdiscs = try node.runProcess("/usr/sbin/tc", arguments: ["qdisc", "show", "dev", hostInterface], timeoutMilliseconds: 10_000)
            #expect(qdiscs.standardOutputText.contains("tbf"), "\(qdiscs.standardOutputText)")

            // portMappings: a client in another namespace reaches the pod through the node's port.
            try node.ip(["link", "add", "cap-node", "type", "veth", "peer", "name", "cap-client", "netns", client.name!])
            try node.ip(["addr", "add", "192.168.201.1/24", "dev", "cap-node"])
            try node.ip(["link", "set", "cap-node", "up"])
            try client.ip(["addr", "add", "192.168.201.2/24", "dev", "cap-client"])
            try client.ip(["link", "set", "cap-client", "up"])
            try client.ip(["link", "set", "lo", "up"])
            let server = try pod.launchProcess("/usr/bin/python3", arguments: ["-c", Self.server])
            defer { _ = server.terminate(graceMilliseconds: 1000) }
            var answer = ""
            var failure = ""
            for _ in 0..<8 where answer.isEmpty {
                let output = try client.runProcess(
                    "/usr/bin/python3", arguments: ["-c", Self.client, "192.168.201.1", "18081"], timeoutMilliseconds: 10_000)
                answer = output.standardOutputText.trimmingCharacters(in: .whitespacesAndNewlines)
                failure = output.standardErrorText
                if answer.isEmpty { usleep(300_000) }
            }
            let counters = try node.runProcess("/usr/sbin/iptables", arguments: ["-t", "nat", "-L", "-n", "-v"], timeoutMilliseconds: 10_000)
            #expect(answer == "hello from the pod", "\(failure)\n\(counters.standardOutputText)")

            try await harness.runtime.delete(list, attachment)
            #expect(harness.reservedAddresses().isEmpty)
            let rules = try node.runProcess("/usr/sbin/iptables", arguments: ["-t", "nat", "-S"], timeoutMilliseconds: 10_000)
            #expect(!rules.standardOutputText.contains("--dport 18081"))
        }
    }

    /// A capability swift-flannel is declared for but does not honour: code 2, naming it and
    /// the plugin to chain instead; nothing is left behind.
    @Test(.privileged) func unhonouredCapabilityIsRefused() async throws {
        let directory = try TestDirectories.temporary(prefix: "swcni-flannel-")
        defer { TestDirectories.remove(directory) }
        try await NamespaceFixture.with(count: 2) { namespaces in
            let (node, pod) = (namespaces[0], namespaces[1])
            let harness = try FlannelTestNode(node: node, directory: directory)
            var flannel = harness.pluginConfiguration()
            flannel["capabilities"] = ["bandwidth": true]
            let list = NetworkConfigurationList(cniVersion: "1.0.0", name: "cbr0", plugins: [flannel])
            let attachment = RuntimeAttachment(
                containerID: "caps-2", networkNamespace: pod.path, interfaceName: "eth0",
                capabilityArguments: ["bandwidth": ["ingressRate": 1_000_000, "ingressBurst": 10_000]])
            let error = await cniError { _ = try await harness.runtime.add(list, attachment) }
            #expect(error?.code == .unsupportedField, "\(String(describing: error))")
            #expect(error?.message.contains("\"bandwidth\"") == true && error?.message.contains("chain the bandwidth plugin") == true)
            #expect(harness.reservedAddresses().isEmpty)
            #expect(!(try pod.ip(["-o", "link", "show"]).contains("eth0")))
            // Not declared: the runtime does not pass it, and ADD works.
            let plain = RuntimeAttachment(
                containerID: "caps-2", networkNamespace: pod.path, interfaceName: "eth0",
                capabilityArguments: ["bandwidth": ["ingressRate": 1_000_000, "ingressBurst": 10_000]])
            _ = try await harness.runtime.add(harness.conflist(), plain)
            try await harness.runtime.delete(harness.conflist(), plain)
        }
    }
}
