import Foundation
import Namespaces
import NetPrimitives
import TestSupport
import Testing

@testable import Netlink

@Suite("Sysctl", .serialized)
struct SysctlTests {
    @Test("sysctl is read and written in the handle's namespace, never another", .privileged)
    func perNamespace() async throws {
        let hostBefore = try String(contentsOfFile: "/proc/sys/net/ipv4/ip_forward", encoding: .utf8)
        try await NamespaceFixture.with(count: 2) { namespaces in
            let first = try NetlinkHandle(namespace: namespaces[0])
            let second = try NetlinkHandle(namespace: namespaces[1])
            #expect(try first.sysctl("net.ipv4.ip_forward") == "0")
            try first.setIPForwarding(true)
            #expect(try first.sysctl("net.ipv4.ip_forward") == "1")
            #expect(try second.sysctl("net.ipv4.ip_forward") == "0")
            let seen = try run(namespaces[0], "/usr/sbin/sysctl", ["-n", "net.ipv4.ip_forward"])
            #expect(seen.standardOutputText.trimmingCharacters(in: .whitespacesAndNewlines) == "1")
            try first.addLink(.veth("s0", peer: "s1"))
            try first.setProxyARP(true, device: "s0")
            try first.setReversePathFilter(2, device: "s0")
            try first.setAcceptDAD(0, device: "s0")
            #expect(try first.sysctl("net/ipv4/conf/s0/proxy_arp") == "1")
            #expect(try first.sysctl("net.ipv4.conf.s0.rp_filter") == "2")
            #expect(try first.sysctl("net.ipv6.conf.s0.accept_dad") == "0")
            #expect(throws: NetlinkError.self) { try second.sysctl("net.ipv4.conf.s0.proxy_arp") }
            #expect(throws: NetlinkError.self) { try first.sysctl("kernel.hostname") }
            #expect(throws: NetlinkError.self) { try first.setSysctl("net/../kernel/hostname", to: "x") }
        }
        let hostAfter = try String(contentsOfFile: "/proc/sys/net/ipv4/ip_forward", encoding: .utf8)
        #expect(hostBefore == hostAfter)
    }
}
