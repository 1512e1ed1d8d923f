import AgentHTTP
import Foundation
import Kubernetes
import NetPrimitives
import TestSupport
import Testing

@testable import swift_flanneld

@Suite("swift-flanneld --kube-subnet-mgr: flannel's annotations and condition")
struct KubeSubnetManagerUnitTests {
    let manager = KubeSubnetManager(annotations: try! FlannelAnnotations())

    @Test("annotation names and prefixes as flannel derives them")
    func names() throws {
        let names = try FlannelAnnotations()
        #expect(names.backendType == "flannel.alpha.coreos.com/backend-type")
        #expect(names.backendData == "flannel.alpha.coreos.com/backend-data")
        #expect(names.publicIP == "flannel.alpha.coreos.com/public-ip")
        #expect(names.kubeSubnetManager == "flannel.alpha.coreos.com/kube-subnet-manager")
        #expect(try FlannelAnnotations(prefix: "example.com/net").publicIP == "example.com/net-public-ip")
        #expect(try FlannelAnnotations(prefix: "example.com/net-").publicIP == "example.com/net-public-ip")
        for bad in ["a/b/c", "nodots/", "Upper.com"] {
            #expect(throws: AgentError.self, "\(bad)") { try FlannelAnnotations(prefix: bad) }
        }
    }

    @Test("a node's lease: patch with flannel's exact values, none once written; the condition")
    func patches() throws {
        var node = Node(name: "n1")
        node.podCIDRs = ["fd00::/64", "10.244.3.0/24"]
        #expect(try manager.subnet(of: node) == IPNetwork(parsing: "10.244.3.0/24"))
        let mac = try MACAddress(parsing: "0E:6C:2A:11:22:33")
        let lease = PublishedLease(
            backendType: "vxlan", backendData: PublishedLease.vxlanBackendData(identifier: 1, vtepMAC: mac),
            publicIP: try IPAddress(parsing: "192.168.50.11"))
        #expect(lease.backendData == #"{"VNI":1,"VtepMAC":"0e:6c:2a:11:22:33"}"#)
        let patch = try #require(manager.annotationPatch(for: node, lease: lease))
        #expect(String(decoding: patch.encoded(), as: UTF8.self) == #"{"metadata":{"annotations":{"flannel.alpha.coreos.com/backend-data":"{\"VNI\":1,\"VtepMAC\":\"0e:6c:2a:11:22:33\"}","flannel.alpha.coreos.com/backend-type":"vxlan","flannel.alpha.coreos.com/kube-subnet-manager":"true","flannel.alpha.coreos.com/public-ip":"192.168.50.11"}}}"#)
        node.json = StrategicMergePatch.apply(patch, to: .object(node.json)).objectValue!
        #expect(manager.annotationPatch(for: node, lease: lease) == nil)
        #expect(manager.storedVTEPMAC(of: node) == mac)
        let peer = try #require(manager.peer(from: node, backendType: "vxlan"))
        #expect(peer == RemoteNode(subnet: try IPNetwork(parsing: "10.244.3.0/24"), address: try IPAddress(parsing: "192.168.50.11"), vtepMACAddress: mac))
        #expect(manager.peer(from: node, backendType: "host-gw") == nil)
        // public-ip-overwrite wins, as in flannel
        node.annotations["flannel.alpha.coreos.com/public-ip-overwrite"] = "10.0.0.9"
        #expect(manager.annotationPatch(for: node, lease: lease)?["metadata"]?["annotations"]?["flannel.alpha.coreos.com/public-ip"] == "10.0.0.9")

        let condition = KubeSubnetManager.networkAvailablePatch(time: "2026-12-07T01:00:00Z")
        let entry = try #require(condition["status"]?["conditions"]?.arrayValue?.first)
        #expect(entry["type"] == "NetworkUnavailable" && entry["status"] == "False")
        #expect(entry["reason"] == "FlannelIsUp" && entry["message"] == "Flannel is running on this node")
        #expect(entry["lastTransitionTime"] == "2026-12-07T01:00:00Z")
    }

    @Test("peers: only nodes flannel marked, with an IPv4 pod CIDR and a public IP")
    func peers() throws {
        var node = Node(name: "n2")
        node.podCIDR = "10.244.2.0/24"
        node.annotations = ["flannel.alpha.coreos.com/backend-type": "vxlan", "flannel.alpha.coreos.com/public-ip": "192.168.50.12",
                            "flannel.alpha.coreos.com/backend-data": #"{"VNI":1,"VtepMAC":"aa:bb:cc:dd:ee:ff"}"#]
        #expect(manager.peer(from: node, backendType: "vxlan") == nil, "no kube-subnet-manager mark")
        node.annotations["flannel.alpha.coreos.com/kube-subnet-manager"] = "true"
        #expect(manager.peer(from: node, backendType: "vxlan")?.vtepMACAddress?.description == "aa:bb:cc:dd:ee:ff")
        node.annotations["flannel.alpha.coreos.com/backend-data"] = "null"
        #expect(manager.peer(from: node, backendType: "vxlan") == nil, "vxlan without a VTEP MAC")
        node.podCIDRs = ["10.1.0.0/24", "10.2.0.0/24", "10.3.0.0/24"]
        #expect(throws: AgentError.self) { try manager.subnet(of: node) }
        #expect(try manager.subnet(of: Node(name: "empty")) == nil)
    }

    @Test("command line: --kube-subnet-mgr needs no store; flannel's --kubeconfig-file spelling works")
    func commandLine() throws {
        let kube = try SwiftFlanneld.parse(["--node", "n1", "--iface", "eth0", "--kube-subnet-mgr", "--kubeconfig-file", "/k"])
        #expect(kube.kubeSubnetMgr && kube.kubeconfig == "/k" && kube.netConfigPath == "/etc/kube-flannel/net-conf.json")
        #expect(kube.setNodeNetworkUnavailable)
        #expect(try !SwiftFlanneld.parse(["--node", "n1", "--iface", "eth0", "--kube-subnet-mgr", "--set-node-network-unavailable", "false"])
            .setNodeNetworkUnavailable)
        #expect(throws: (any Error).self) { try SwiftFlanneld.parse(["--node", "n1", "--iface", "eth0"]) }
        #expect(throws: (any Error).self) {
            try SwiftFlanneld.parse(["--node", "n1", "--iface", "eth0", "--kube-subnet-mgr", "--kube-annotation-prefix", "a/b/c"])
        }
    }
}

@Suite("swift-flanneld --kube-subnet-mgr in node namespaces", .serialized)
struct FlannelKubeLabTests {
    static let annotations = try! FlannelAnnotations()

    @Test("2 nodes: podCIDRs give the subnets, flannel's annotations and NetworkUnavailable=False, pods connect, a flannel-annotated node is a peer, a restart keeps the VTEP MAC",
          .privileged, .timeLimit(.minutes(1)))
    func twoNodes() async throws {
        try await withTimeout(.seconds(50), "the kube-subnet-mgr lab") {
            try await KubeFlannelLab.with(nodes: 2) { lab in
                let cluster = lab.cluster
                // node-2 carries the MAC a flannel daemon published before: a restart reuses it.
                var second = try await lab.node("node-2")
                second.annotations[Self.annotations.backendData] = #"{"VNI":1,"VtepMAC":"0e:6c:2a:11:22:33"}"#
                _ = try await lab.fixture.update(.nodes, object: second.json)
                try lab.start(0)
                try lab.start(1)
                let available = { (node: Node) in node.condition("NetworkUnavailable")?.status == "False" }
                let nodes = [try await lab.waitForNode("node-1", available), try await lab.waitForNode("node-2", available)]
                for (index, node) in nodes.enumerated() {
                    let mac = try #require(try lab.vtepMAC(index))
                    #expect(node.annotations == [
                        Self.annotations.backendType: "vxlan",
                        Self.annotations.backendData: #"{"VNI":1,"VtepMAC":"\#(mac)"}"#,
                        Self.annotations.publicIP: "192.168.50.1\(index + 1)",
                        Self.annotations.kubeSubnetManager: "true",
                    ])
                    let condition = try #require(node.condition("NetworkUnavailable"))
                    #expect(condition.reason == "FlannelIsUp" && condition.message == "Flannel is running on this node")
                    #expect(cluster.subnetEnvironment(index)?["FLANNEL_SUBNET"] == "10.244.\(index + 1).1/24")
                    #expect(node.podCIDR == "10.244.\(index + 1).0/24")
                }
                #expect(try lab.vtepMAC(1) == "0e:6c:2a:11:22:33")

                let pods = [try cluster.addPodAddress(0), try cluster.addPodAddress(1)]
                #expect(cluster.eventually(10) { (try? cluster.ping(from: 0, source: pods[0], to: pods[1])) == true }, "\(cluster.log(0))")
                #expect(try cluster.ping(from: 1, source: pods[1], to: pods[0]))

                // A node that a flannel daemon annotated is a peer; deleting it removes the route.
                var foreign = Node(name: "flannel-node")
                foreign.podCIDR = "10.244.9.0/24"
                foreign.annotations = [
                    Self.annotations.backendType: "vxlan", Self.annotations.kubeSubnetManager: "true",
                    Self.annotations.publicIP: "192.168.50.99", Self.annotations.backendData: #"{"VNI":1,"VtepMAC":"0e:00:00:00:00:99"}"#,
                ]
                _ = try await lab.fixture.create(.nodes, object: foreign.json)
                #expect(cluster.eventually(10) { (try? cluster.overlayRoutes(0).contains("10.244.9.0/24")) == true })
                try await lab.fixture.delete(.nodes, name: "flannel-node")
                #expect(cluster.eventually(10) { (try? cluster.overlayRoutes(0).contains("10.244.9.0/24")) == false })

                // Restart after the device is gone (a reboot): the MAC comes back from the annotation.
                let before = try #require(try lab.vtepMAC(0))
                #expect(cluster.stop(0))
                _ = try cluster.nodes[0].runProcess("/usr/sbin/ip", arguments: ["link", "del", "flannel.1"], timeoutMilliseconds: 5000)
                #expect(try lab.vtepMAC(0) == nil)
                try lab.start(0)
                #expect(cluster.eventually(10) { (try? lab.vtepMAC(0)) == before }, "\(cluster.log(0))")
                #expect(cluster.eventually(10) { (try? cluster.ping(from: 0, source: pods[0], to: pods[1])) == true })
                #expect(try await lab.node("node-1").annotations[Self.annotations.backendData] == #"{"VNI":1,"VtepMAC":"\#(before)"}"#)
            }
        }
    }

    @Test("TLS and credentials: wrong CA and a missing token end the agent with a clear message; a rotated token file is read again",
          .privileged, .timeLimit(.minutes(1)))
    func credentials() async throws {
        try await withTimeout(.seconds(50), "the kube-subnet-mgr credentials lab") {
            try await KubeFlannelLab.with(nodes: 2) { lab in
                let cluster = lab.cluster
                let wrongCA = cluster.directory + "/kubeconfig-wrong-ca"
                try lab.writeKubeconfig(wrongCA, ca: lab.pki + "/other-ca.crt")
                try lab.start(0, kubeconfig: wrongCA)
                #expect(try await !lab.waitForExit(0).isSuccess)
                let tlsLog = cluster.log(0)
                #expect(tlsLog.contains("TLS failed") && tlsLog.contains(KubeFlannelLab.server) && tlsLog.contains("certificate"), "\(tlsLog)")

                let noToken = cluster.directory + "/kubeconfig-no-token"
                try lab.writeKubeconfig(noToken, tokenFile: cluster.directory + "/absent-token")
                try lab.start(0, kubeconfig: noToken)
                #expect(try await !lab.waitForExit(0).isSuccess)
                let tokenLog = cluster.log(0)
                #expect(tokenLog.contains("credentials unavailable") && tokenLog.contains("absent-token"), "\(tokenLog)")

                try "not-the-token\n".write(toFile: lab.tokenFile, atomically: true, encoding: .utf8)
                try lab.start(0)
                #expect(try await !lab.waitForExit(0).isSuccess)
                #expect(cluster.log(0).contains("Unauthorized"), "\(cluster.log(0))")

                // Rotation: the server accepts only the new token, the kubelet renames the new
                // file into place, the watches drop; the agent reconnects with the new token.
                try "\(KubeFlannelLab.token)\n".write(toFile: lab.tokenFile, atomically: true, encoding: .utf8)
                try lab.start(0)
                try lab.start(1)
                let available = { (node: Node) in node.condition("NetworkUnavailable")?.status == "False" }
                _ = try await lab.waitForNode("node-1", available)
                _ = try await lab.waitForNode("node-2", available)
                lab.fixture.setAcceptedTokens(["rotated-token"])
                try "rotated-token\n".write(toFile: lab.tokenFile, atomically: true, encoding: .utf8)
                await lab.fixture.dropWatches()
                var foreign = Node(name: "flannel-node")
                foreign.podCIDR = "10.244.9.0/24"
                foreign.annotations = [
                    Self.annotations.backendType: "vxlan", Self.annotations.kubeSubnetManager: "true",
                    Self.annotations.publicIP: "192.168.50.99", Self.annotations.backendData: #"{"VNI":1,"VtepMAC":"0e:00:00:00:00:99"}"#,
                ]
                _ = try await lab.fixture.create(.nodes, object: foreign.json)
                for index in 0..<2 {
                    #expect(cluster.eventually(15) { (try? cluster.overlayRoutes(index).contains("10.244.9.0/24")) == true }, "\(cluster.log(index))")
                }
                let authenticated = lab.fixture.requests().filter { $0.isWatch && $0.status == 200 }.count
                #expect(authenticated >= 4, "\(lab.fixture.requests())")
            }
        }
    }
}
