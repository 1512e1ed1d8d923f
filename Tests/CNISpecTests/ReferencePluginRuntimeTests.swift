import CNISpec
import Foundation
import Namespaces
import NetPrimitives
import Testing
import TestSupport

/// The runtime side running a conflist of the reference plugins (Debian's
/// containernetworking-plugins 1.1.1 in /usr/lib/cni: bridge + host-local + portmap) inside a
/// node namespace, for a pod namespace, both created by NamespaceFixture. host-local's data
/// and the result cache live in a temporary directory.
@Suite(.serialized) struct ReferencePluginRuntimeTests {
    static let pluginDirectory = "/usr/lib/cni"

    func conflist(version: String, dataDirectory: String, declarePortMappings: Bool) -> NetworkConfigurationList {
        var portmap: [String: JSONValue] = ["type": "portmap", "snat": true]
        if declarePortMappings { portmap["capabilities"] = ["portMappings": true] }
        return NetworkConfigurationList(cniVersion: version, name: "swcni-ref", plugins: [
            [
                "type": "bridge", "bridge": "swcni0", "isGateway": true, "ipMasq": false,
                "ipam": [
                    "type": "host-local", "subnet": "10.88.7.0/24", "dataDir": .string(dataDirectory),
                    "routes": [["dst": "0.0.0.0/0"]],
                ],
            ],
            portmap,
        ])
    }

    /// `ip` inside a namespace, for observing what the plugins did.
    func ip(_ namespace: NetworkNamespace, _ arguments: [String]) throws -> String {
        try namespace.runProcess("/usr/sbin/ip", arguments: arguments, timeoutMilliseconds: 5_000).standardOutputText
    }

    func natRules(_ namespace: NetworkNamespace) throws -> String {
        try namespace.runProcess("/usr/sbin/iptables", arguments: ["-t", "nat", "-S"], timeoutMilliseconds: 10_000).standardOutputText
    }

    static let arguments: [(String, Bool)] = [
        ("0.3.0", true), ("0.3.1", true), ("0.4.0", true), ("0.4.0", false), ("1.0.0", true), ("1.0.0", false),
    ]

    @Test(.privileged, arguments: arguments)
    func addCheckDeleteInANodeNamespace(version: String, declarePortMappings: Bool) async throws {
        let directory = try temporaryDirectory()
        defer { removeDirectory(directory) }
        try await NamespaceFixture.with(count: 2) { namespaces in
            let (node, pod) = (namespaces[0], namespaces[1])
            let launcher = RecordingLauncher(NamespaceLauncher(namespace: node))
            let runtime = CNIRuntime(
                pluginDirectories: [Self.pluginDirectory], cacheDirectory: directory + "/cache", launcher: launcher)
            let network = conflist(version: version, dataDirectory: directory + "/ipam", declarePortMappings: declarePortMappings)
            let attachment = RuntimeAttachment(
                containerID: "ref-pod-1", networkNamespace: pod.path, interfaceName: "eth0",
                arguments: CNIArguments([.init(key: "IgnoreUnknown", value: "1"), .init(key: "K8S_POD_NAME", value: "web")]),
                capabilityArguments: ["portMappings": [["hostPort": 18080, "containerPort": 80, "protocol": "tcp"]]])

            // ADD, in order, with prevResult chained.
            let result = try await runtime.add(network, attachment)
            #expect(result.version.description == version)
            let current = try result.current()
            let address = try #require(current.ips.first?.address)
            #expect(IPNetwork("10.88.7.0/24").contains(address.address))
            #expect(current.interfaces.contains { $0.name == "swcni0" })
            #expect(current.interfaces.contains { $0.name == "eth0" && $0.sandbox == pod.path })
            #expect(try ip(node, ["-o", "link", "show", "swcni0"]).contains("swcni0"))
            #expect(try ip(pod, ["-o", "-4", "addr", "show", "eth0"]).contains(address.description))
            let added = launcher.all.filter { $0.command == "ADD" }
            #expect(added.map(\.plugin) == ["bridge", "portmap"])
            #expect(added[0].configuration["prevResult"] == nil && added[1].configuration["prevResult"] != nil)
            #expect(added.allSatisfy { $0.configuration["capabilities"] == nil && $0.configuration["cniVersion"] == .string(version) })
            // portmap gets runtimeConfig.portMappings only when it declares the capability.
            #expect((added[1].configuration["runtimeConfig"]?["portMappings"] != nil) == declarePortMappings)
            #expect(added[0].configuration["runtimeConfig"] == nil)
            #expect(try natRules(node).contains("--dport 18080") == declarePortMappings)

            // CHECK (0.4.0+). portmap 1.1.1 fails on IPv4-only results when it has port mappings
            // (containernetworking/plugins#819): exactly that error, nothing else.
            if CNIVersion(stringLiteral: version).supportsCheck {
                if declarePortMappings {
                    let error = try await #require(throws: CNIError.self) { try await runtime.check(network, attachment) }
                    #expect(error.code == .internal)
                    #expect(error.message.hasPrefix("plugin portmap CHECK: could not check ipv6 dnat"))
                } else {
                    try await runtime.check(network, attachment)
                }
                #expect(launcher.all.filter { $0.command == "CHECK" }.map(\.plugin) == ["bridge", "portmap"])
            } else {
                await #expect(throws: CNIError.self) { try await runtime.check(network, attachment) }
            }

            // DEL, in reverse order, with the cached result.
            try await runtime.delete(network, attachment)
            let deleted = launcher.all.filter { $0.command == "DEL" }
            #expect(deleted.map(\.plugin) == ["portmap", "bridge"])
            if CNIVersion(stringLiteral: version) >= .v0_4_0 {
                #expect(try deleted.allSatisfy { try AnyCNIResult(#require($0.configuration["prevResult"])) == result })
            }
            #expect(try runtime.cachedResult(network, attachment) == nil)
            #expect(try !ip(pod, ["-o", "link"]).contains("eth0"))
            #expect(try !natRules(node).contains("--dport 18080"))
            let leases = (try? FileManager.default.contentsOfDirectory(atPath: directory + "/ipam/swcni-ref")) ?? []
            #expect(!leases.contains(address.address.description))
            // DEL again is fine (idempotent).
            try await runtime.delete(network, attachment)
        }
    }

    @Test(.privileged, arguments: ["0.1.0", "0.2.0"])
    func addDeleteForLegacyVersions(version: String) async throws {
        let directory = try temporaryDirectory()
        defer { removeDirectory(directory) }
        try await NamespaceFixture.with(count: 2) { namespaces in
            let (node, pod) = (namespaces[0], namespaces[1])
            let runtime = CNIRuntime(
                pluginDirectories: [Self.pluginDirectory], cacheDirectory: directory + "/cache",
                launcher: NamespaceLauncher(namespace: node))
            let network = conflist(version: version, dataDirectory: directory + "/ipam", declarePortMappings: true)
            let attachment = RuntimeAttachment(
                containerID: "ref-pod-2", networkNamespace: pod.path, interfaceName: "eth0",
                capabilityArguments: ["portMappings": [["hostPort": 18081, "containerPort": 80, "protocol": "tcp"]]])
            let result = try await runtime.add(network, attachment)
            guard case .ip4ip6(let legacy) = result else {
                Issue.record("expected a \(version) result, got \(result)")
                return
            }
            #expect(legacy.ip4.map { IPNetwork("10.88.7.0/24").contains($0.ip.address) } == true)
            #expect(try natRules(node).contains("--dport 18081"))
            try await runtime.delete(network, attachment)
            #expect(try !natRules(node).contains("--dport 18081"))
            #expect(try !ip(pod, ["-o", "link"]).contains("eth0"))
        }
    }
}
