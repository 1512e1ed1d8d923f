import Namespaces
import Netlink
import Nftables
import NetPrimitives
import TestSupport
import Testing
@testable import Policy
@testable import PolicyEnforcement

/// NetworkPolicy over IPv6: the planner puts pods' IPv6 addresses and IPv6 ipBlocks (with
/// `except`) in `ip6` sets of the `inet` table, and the kernel enforces them on real IPv6
/// traffic between routed pods that resolve their neighbours by NDP.
@Suite("Policy enforcer IPv6", .serialized)
struct EnforcerIPv6Tests {
    static func address(_ index: Int) -> String { "fd00:66::\(11 + index)" }

    /// x/a (web), x/b (client), y/c (other): IPv6 only.
    static func endpoints() -> [Endpoint] {
        [("x", "a", "web"), ("x", "b", "client"), ("y", "c", "other")].enumerated().map { index, spec in
            Endpoint(
                namespace: spec.0, name: spec.1, addresses: [IPAddress(address(index))!],
                interfaceName: try? InterfaceName("vp\(index + 1)"), labels: ["app": spec.2], namespaceLabels: ["team": spec.0],
                node: "n1")
        }
    }

    static func cluster() throws -> ClusterState {
        try ClusterState(endpoints: endpoints(), nodes: [ClusterNode(name: "n1", addresses: [try IPAddress(parsing: "fd00:66:ffff::1")])])
    }

    static func policy(_ name: String, namespace: String = "x", _ spec: String) -> String {
        "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: \(name), namespace: \(namespace)}\nspec:\n\(spec)\n---\n"
    }

    static let ipBlock = policy("web", """
          podSelector: {matchLabels: {app: web}}
          ingress: [{from: [{ipBlock: {cidr: "fd00:66::/64", except: ["fd00:66::13/128"]}}]}]
        """)
    static let bySelector = policy("web-clients", """
          podSelector: {matchLabels: {app: web}}
          ingress: [{from: [{podSelector: {matchLabels: {app: client}}}]}]
        """)
    static let egress = policy("out", """
          podSelector: {matchLabels: {app: client}}
          policyTypes: [Egress]
          egress: [{to: [{ipBlock: {cidr: "fd00:66::11/128"}}]}]
        """)

    @Test func plannerPutsIPv6PeersInIP6Sets() throws {
        let program = PolicyProgram(compiling: try PolicySet(parsing: Self.ipBlock + Self.bySelector), cluster: try Self.cluster(), node: "n1")
        let sets = program.addressSets.filter { $0.family == .v6 }
        let elements = Set(sets.flatMap { $0.elements.map(\.description) })
        #expect(elements.contains("fd00:66::12"), "\(elements)")
        // fd00:66::/64 minus fd00:66::13: no set of either family holds the excepted address.
        #expect(!elements.contains("fd00:66::13") && !elements.contains("fd00:66::/64"), "\(elements)")
        // The pods have no IPv4 address: a selector's IPv4 set is empty.
        let ipv4Elements = program.addressSets.filter { $0.family == .v4 }.flatMap(\.elements)
        #expect(ipv4Elements.isEmpty, "\(ipv4Elements)")
        let contents = try NftablesPolicyCompiler().contents(for: program)
        #expect(contents.table.family == .inet)
        let text = contents.rules.map(\.description).joined(separator: "\n")
        #expect(text.contains("ip6 saddr @"), "\(text)")
        #expect(text.contains("meta l4proto ipv6-icmp ct state untracked accept"), "\(text)")
    }

    @Test("IPv6 ipBlock, selector and egress policies are enforced", .privileged)
    func ipv6TrafficIsEnforced() async throws {
        try await NamespaceFixture.with(count: 4) { namespaces in
            let node = namespaces[0], pods = Array(namespaces[1...])
            try node.ip(["-6", "addr", "add", "fd00:66:ffff::1/128", "dev", "lo"])
            _ = try node.runProcess("/bin/sh", arguments: ["-c", "echo 1 > /proc/sys/net/ipv6/conf/all/forwarding"], timeoutMilliseconds: 5_000)
            for (index, pod) in pods.enumerated() {
                let host = "vp\(index + 1)"
                try node.ip(["link", "add", host, "type", "veth", "peer", "name", "eth0", "netns", pod.name!])
                try node.ip(["-6", "addr", "add", "fe80::1/64", "dev", host, "nodad"])
                try node.ip(["link", "set", host, "up"])
                try node.ip(["-6", "route", "add", Self.address(index) + "/128", "dev", host])
                try pod.ip(["-6", "addr", "add", Self.address(index) + "/128", "dev", "eth0", "nodad"])
                try pod.ip(["link", "set", "eth0", "up"])
                try pod.ip(["-6", "route", "add", "default", "via", "fe80::1", "dev", "eth0"])
            }
            func pings(_ from: Int, _ to: Int) throws -> Bool { try pods[from].ping(Self.address(to), waitSeconds: 2) }
            let handle = try await NftablesHandle.open(in: node)
            let enforcer = PolicyEnforcer(handle: handle, policies: PolicySet(), cluster: try Self.cluster(), node: "n1")
            try enforcer.reconcile()
            #expect(try pings(1, 0) && pings(2, 0) && pings(1, 2), "the IPv6 topology works without policy")

            _ = try enforcer.update(policies: try PolicySet(parsing: Self.ipBlock))
            #expect(try pings(1, 0), "fd00:66::12 is in the ipBlock")
            #expect(try !pings(2, 0), "fd00:66::13 is the ipBlock's except")

            _ = try enforcer.update(policies: try PolicySet(parsing: Self.bySelector))
            #expect(try pings(1, 0) && !pings(2, 0))

            // Egress of x/b: only to fd00:66::11. Its neighbour entries are flushed first, so
            // the pod and the node resolve each other again by NDP under the policy.
            _ = try enforcer.update(policies: try PolicySet(parsing: Self.egress))
            try pods[1].ip(["-6", "neigh", "flush", "dev", "eth0"])
            try node.ip(["-6", "neigh", "flush", "dev", "vp2"])
            #expect(try pings(1, 0), "egress to fd00:66::11 allowed (and NDP with the node)")
            #expect(try !pings(1, 2), "egress to fd00:66::13 denied")
            #expect(try pings(2, 0))
            #expect(try enforcer.desiredContents().isEquivalent(to: handle.contents(of: enforcer.lowering.table)))
        }
    }
}
