import Foundation
import Lab
import LabProfiles
import Namespaces
import Testing
import TestSupport

/// `--store etcd`: a real etcd inside the fabric namespace; pods and labels are published to
/// it under the Datastore key layout, and `down` stops it.
@Suite(.serialized) struct EtcdStoreLabTests {
    func etcdKeys(_ lab: String) throws -> [String: String] {
        let fabric = try NetworkNamespace.open(name: "cnilab-\(lab)-fabric")
        let output = try fabric.runProcess(
            "/usr/bin/etcdctl", arguments: ["--endpoints", "http://192.168.77.1:2379", "get", "--prefix", "/swiftcni/"],
            environment: ["ETCDCTL_API": "3"], timeoutMilliseconds: 10_000)
        let lines = output.standardOutputText.split(separator: "\n").map(String.init)
        return Dictionary(uniqueKeysWithValues: stride(from: 0, to: lines.count - 1, by: 2).map { (lines[$0], lines[$0 + 1]) })
    }

    @Test(.privileged) func podsAndLabelsLiveInEtcd() async throws {
        let root = try LabTestSupport.temporaryDirectory()
        let name = LabTestSupport.uniqueLabName()
        defer {
            _ = try? Lab.down(name: name, stateDirectory: root + "/lab")
            try? FileManager.default.removeItem(atPath: root)
        }
        let lab = try await Lab.up(LabConfiguration(name: name, stateDirectory: root + "/lab", profile: .reference(agent: nil), nodeCount: 1, store: .etcd))
        #expect(await lab.status().store == "etcd:http://192.168.77.1:2379")
        let pod = try await lab.addPod(try PodReference(parsing: "shop/web"), node: 0, labels: ["app": "web"])
        _ = try await lab.labelNamespace("shop", ["team=blue"])
        let keys = try etcdKeys(name)
        #expect(keys["/swiftcni/labels/pod/shop/web"] == #"{"app":"web"}"#)
        #expect(keys["/swiftcni/labels/namespace/_cluster/shop"] == #"{"kubernetes.io/metadata.name":"shop","team":"blue"}"#)
        #expect(keys["/swiftcni/pods/shop/web"]?.contains(#""addresses":["\#(pod.address!)"]"#) == true)
        try await lab.deletePod(try PodReference(parsing: "shop/web"))
        #expect(try etcdKeys(name)["/swiftcni/pods/shop/web"] == nil)
        let etcdPids = ProcessList.pids(named: "etcd", inNamespace: "cnilab-\(name)-fabric")
        #expect(etcdPids.count == 1)
        try await lab.down()
        #expect(etcdPids.allSatisfy { !LabTestSupport.isAlive($0) })
        #expect(LabTestSupport.namespaces(of: name).isEmpty)
    }
}

/// Processes by namespace (to find the lab's etcd without trusting the lab's own records).
enum ProcessList {
    static func pids(named comm: String, inNamespace name: String) -> [Int32] {
        guard let namespace = try? NetworkNamespace.open(name: name),
            let entries = try? FileManager.default.contentsOfDirectory(atPath: "/proc")
        else { return [] }
        return entries.compactMap(Int32.init).filter { pid in
            var info = stat()
            let inode: UInt64? = stat("/proc/\(pid)/ns/net", &info) == 0 ? UInt64(info.st_ino) : nil
            let name = (try? String(contentsOfFile: "/proc/\(pid)/comm", encoding: .utf8))?.trimmingCharacters(in: .whitespacesAndNewlines)
            return inode == namespace.inode && name == comm
        }
    }
}
