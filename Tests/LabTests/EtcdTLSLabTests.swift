import Foundation
import Lab
import LabProfiles
import Namespaces
import Testing
import TestSupport

/// `cnilab up --store etcd --etcd-tls` with swift-calico (whose plugin allocates from the store
/// itself and whose agent watches it): etcd listens on https only and requires client
/// certificates; 3 nodes, 6 pods, every pod reaches every other. The other plugins run the same
/// way by hand (Documentation/Testing.md, "etcd with TLS").
@Suite(.serialized) struct EtcdTLSLabTests {
    @Test(.privileged) func calicoOnAnEtcdRequiringClientCertificates() async throws {
        let root = try LabTestSupport.temporaryDirectory()
        let name = LabTestSupport.uniqueLabName()
        defer {
            _ = try? Lab.down(name: name, stateDirectory: root + "/lab")
            try? FileManager.default.removeItem(atPath: root)
        }
        let lab = try await Lab.up(LabConfiguration(
            name: name, stateDirectory: root + "/lab", profile: .calico(.fast), nodeCount: 3, store: .etcd, etcdTLS: true))
        #expect(await lab.status().store == "etcd:https://192.168.77.1:2379")
        let pki = try #require(await lab.etcdCertificates)
        #expect(FileManager.default.fileExists(atPath: pki.clientCertificateFile))

        var pods: [LabPod] = []
        for index in 0..<6 {
            pods.append(try await lab.addPod(try PodReference(namespace: "x", name: "p\(index)"), node: index / 2))
        }
        #expect(pods.allSatisfy { $0.address?.hasPrefix("10.244.") == true })
        let matrix = try await lab.probe(ProbeOptions(timeoutMilliseconds: 500))
        #expect(matrix.count == 6 * 5 * 4)
        #expect(matrix.allSatisfy { $0.connected }, "not connected: \(matrix.filter { !$0.connected })")

        // Only https with a client certificate gets in.
        let fabric = try NetworkNamespace.open(name: "cnilab-\(name)-fabric")
        func etcdctl(_ arguments: [String]) throws -> Bool {
            try fabric.runProcess(
                "/usr/bin/etcdctl", arguments: ["--dial-timeout", "2s", "--command-timeout", "3s"] + arguments + ["get", "--prefix", "/swiftcni/pods/"],
                environment: ["ETCDCTL_API": "3"], timeoutMilliseconds: 15_000).status.isSuccess
        }
        #expect(try etcdctl(["--endpoints", "https://192.168.77.1:2379", "--cacert", pki.caFile,
                             "--cert", pki.clientCertificateFile, "--key", pki.clientKeyFile]))
        #expect(try !etcdctl(["--endpoints", "http://192.168.77.1:2379"]))
        #expect(try !etcdctl(["--endpoints", "https://192.168.77.1:2379", "--cacert", pki.caFile]))

        for index in 0..<6 { try await lab.deletePod(try PodReference(namespace: "x", name: "p\(index)")) }
        try await lab.down()
        #expect(LabTestSupport.namespaces(of: name).isEmpty)
    }
}
