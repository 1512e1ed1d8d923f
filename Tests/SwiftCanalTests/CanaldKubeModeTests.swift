import Testing

@testable import swift_canald

@Suite("swift-canald passes flannel's kube subnet manager mode through")
struct CanaldKubeModeTests {
    @Test("--kube-subnet-mgr reaches swift-flanneld with its kubeconfig and net-conf; without it the store's lease mode")
    func arguments() throws {
        let base = ["--node", "n1", "--store", "file:/tmp/x"]
        let kube = try SwiftCanald.parse(base + ["--kube-subnet-mgr", "--kubeconfig", "/k", "--net-config-path", "/n.json"])
            .flanneldArguments(underlay: "eth0")
        #expect(kube.contains("--kube-subnet-mgr") && !kube.contains("--store"))
        #expect(kube.firstIndex(of: "--kubeconfig").map { kube[$0 + 1] } == "/k")
        #expect(kube.firstIndex(of: "--net-config-path").map { kube[$0 + 1] } == "/n.json")
        let leases = try SwiftCanald.parse(base).flanneldArguments(underlay: "eth0")
        #expect(!leases.contains("--kube-subnet-mgr") && leases.firstIndex(of: "--store").map { leases[$0 + 1] } == "file:/tmp/x")
    }
}
