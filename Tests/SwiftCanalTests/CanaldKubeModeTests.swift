import Testing

@testable import swift_canald

@Suite("swift-canald passes flannel's kube subnet manager mode through")
struct CanaldKubeModeTests {
    @Test("--kube-subnet-mgr reaches swift-flanneld with its kubeconfig and net-conf; without it the store's lease mode")
    func arguments() throws {
        let base = ["--node", "n1", "--store", "file:/tmp/x"]
        let kube = try SwiftCanald.parse(base + ["--kube-subnet-mgr", "--kubeconfig", "/k", "--net-config-path", "/n.json"])
            .flanneldArguments(interface: ["--iface", "192.168.77.10"])
        #expect(kube.contains("--kube-subnet-mgr") && !kube.contains("--store"))
        #expect(kube.firstIndex(of: "--kubeconfig").map { kube[$0 + 1] } == "/k")
        #expect(kube.firstIndex(of: "--net-config-path").map { kube[$0 + 1] } == "/n.json")
        let leases = try SwiftCanald.parse(base).flanneldArguments(interface: ["--iface", "192.168.77.10"])
        #expect(!leases.contains("--kube-subnet-mgr") && leases.firstIndex(of: "--store").map { leases[$0 + 1] } == "file:/tmp/x")
        #expect(leases.firstIndex(of: "--iface").map { leases[$0 + 1] } == "192.168.77.10")
    }

    @Test("flannel's interface options: repeatable --iface (a name or an address), --iface-regex, --iface-can-reach, --public-ip")
    func interfaceOptions() throws {
        let base = ["--node", "n1", "--store", "file:/tmp/x"]
        let parsed = try SwiftCanald.parse(base + ["--iface", "bond0", "--iface", "10.0.0.5", "--iface-regex", "^eth", "--iface-can-reach", "10.1.1.1", "--public-ip", "203.0.113.1"])
        #expect(parsed.iface == ["bond0", "10.0.0.5"] && parsed.ifaceRegex == ["^eth"] && parsed.ifaceCanReach == "10.1.1.1" && parsed.publicIp == "203.0.113.1")
        for bad in [["--iface-regex", "("], ["--iface-can-reach", "nowhere"], ["--public-ip", "x"], ["--iface", "a/b"]] {
            #expect(throws: (any Error).self, "\(bad)") { try SwiftCanald.parse(base + bad) }
        }
    }
}
