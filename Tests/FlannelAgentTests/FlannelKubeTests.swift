import AgentHTTP
import Foundation
import IPAM
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

    @Test("dual stack: a subnet per family from podCIDRs, flannel's v6 annotations, peers per family, IPv6 only")
    func dualStack() throws {
        let names = try FlannelAnnotations()
        #expect(names.backendV6Data == "flannel.alpha.coreos.com/backend-v6-data")
        #expect(names.publicIPv6 == "flannel.alpha.coreos.com/public-ipv6")
        #expect(names.publicIPv6Overwrite == "flannel.alpha.coreos.com/public-ipv6-overwrite")

        var node = Node(name: "n1")
        node.podCIDRs = ["10.244.1.0/24", "fd00:10:244:1::/64"]
        #expect(try manager.subnet(of: node, family: .v4) == IPNetwork(parsing: "10.244.1.0/24"))
        #expect(try manager.subnet(of: node, family: .v6) == IPNetwork(parsing: "fd00:10:244:1::/64"))
        let mac4 = try MACAddress(parsing: "0e:00:00:00:00:04")
        let mac6 = try MACAddress(parsing: "0e:00:00:00:00:06")
        let lease = PublishedLease(
            backendType: "vxlan", backendData: PublishedLease.vxlanBackendData(identifier: 1, vtepMAC: mac4),
            publicIP: try IPAddress(parsing: "192.168.50.11"), backendV6Data: PublishedLease.vxlanBackendData(identifier: 1, vtepMAC: mac6),
            publicIPv6: try IPAddress(parsing: "fd77::11"))
        let patch = try #require(manager.annotationPatch(for: node, lease: lease))
        #expect(String(decoding: patch.encoded(), as: UTF8.self) == #"{"metadata":{"annotations":{"flannel.alpha.coreos.com/backend-data":"{\"VNI\":1,\"VtepMAC\":\"0e:00:00:00:00:04\"}","flannel.alpha.coreos.com/backend-type":"vxlan","flannel.alpha.coreos.com/backend-v6-data":"{\"VNI\":1,\"VtepMAC\":\"0e:00:00:00:00:06\"}","flannel.alpha.coreos.com/kube-subnet-manager":"true","flannel.alpha.coreos.com/public-ip":"192.168.50.11","flannel.alpha.coreos.com/public-ipv6":"fd77::11"}}}"#)
        node.json = StrategicMergePatch.apply(patch, to: .object(node.json)).objectValue!
        #expect(manager.annotationPatch(for: node, lease: lease) == nil)
        #expect(manager.storedVTEPMAC(of: node, family: .v4) == mac4 && manager.storedVTEPMAC(of: node, family: .v6) == mac6)
        #expect(manager.peer(from: node, backendType: "vxlan", family: .v4)
            == RemoteNode(subnet: try IPNetwork(parsing: "10.244.1.0/24"), address: try IPAddress(parsing: "192.168.50.11"), vtepMACAddress: mac4))
        #expect(manager.peer(from: node, backendType: "vxlan", family: .v6)
            == RemoteNode(subnet: try IPNetwork(parsing: "fd00:10:244:1::/64"), address: try IPAddress(parsing: "fd77::11"), vtepMACAddress: mac6))
        // A changed IPv6 address alone makes a patch; public-ipv6-overwrite wins (an IPv4 one is ignored).
        var moved = lease
        moved.publicIPv6 = try IPAddress(parsing: "fd77::99")
        #expect(manager.annotationPatch(for: node, lease: moved)?["metadata"]?["annotations"]?[names.publicIPv6] == "fd77::99")
        node.annotations[names.publicIPv6Overwrite] = "fd77::aa"
        #expect(manager.annotationPatch(for: node, lease: lease)?["metadata"]?["annotations"]?[names.publicIPv6] == "fd77::aa")
        node.annotations[names.publicIPv6Overwrite] = "10.0.0.1"
        #expect(manager.annotationPatch(for: node, lease: lease) == nil)

        // A flannel node with IPv4 only is an IPv4 peer, never an IPv6 one.
        var v4Only = Node(name: "n2")
        v4Only.podCIDRs = ["10.244.2.0/24"]
        v4Only.annotations = [names.kubeSubnetManager: "true", names.backendType: "host-gw", names.backendData: "null", names.publicIP: "192.168.50.12"]
        #expect(manager.peer(from: v4Only, backendType: "host-gw", family: .v4)?.address == IPAddress("192.168.50.12"))
        #expect(manager.peer(from: v4Only, backendType: "host-gw", family: .v6) == nil)

        // host-gw, IPv6 only: backend-v6-data null and public-ipv6, no IPv4 annotations.
        var six = Node(name: "n3")
        six.podCIDRs = ["fd00:10:244:3::/64"]
        #expect(try manager.subnet(of: six, family: .v4) == nil)
        let hostGW = PublishedLease(backendType: "host-gw", backendData: "null", publicIP: nil, publicIPv6: try IPAddress(parsing: "fd77::13"))
        let written = try #require(manager.annotationPatch(for: six, lease: hostGW))
        #expect(written["metadata"]?["annotations"] == [
            names.backendType: "host-gw", names.kubeSubnetManager: "true", names.backendV6Data: "null", names.publicIPv6: "fd77::13",
        ])
        six.json = StrategicMergePatch.apply(written, to: .object(six.json)).objectValue!
        #expect(manager.annotationPatch(for: six, lease: hostGW) == nil)
        #expect(manager.peer(from: six, backendType: "host-gw", family: .v6)
            == RemoteNode(subnet: try IPNetwork(parsing: "fd00:10:244:3::/64"), address: try IPAddress(parsing: "fd77::13"), vtepMACAddress: nil))
        #expect(manager.peer(from: six, backendType: "host-gw", family: .v4) == nil)
    }

    @Test("net-conf.json: dual stack and IPv6 only load; an IPv6 Network or a missing IPv6Network is refused")
    func networkConfigFile() throws {
        let path = NSTemporaryDirectory() + "swcni-netconf-\(UInt32.random(in: 0...UInt32.max)).json"
        defer { try? FileManager.default.removeItem(atPath: path) }
        func load(_ json: String) throws -> SubnetLeaseConfiguration {
            try json.write(toFile: path, atomically: true, encoding: .utf8)
            return try NetworkConfigFile.load(path).0
        }
        let dual = try load(#"{"Network":"10.244.0.0/16","EnableIPv6":true,"IPv6Network":"fd00:10:244::/56","Backend":{"Type":"host-gw"}}"#)
        #expect(dual.ipv4Enabled && dual.ipv6Enabled && dual.IPv6Network == IPNetwork("fd00:10:244::/56"))
        let six = try load(#"{"EnableIPv4":false,"EnableIPv6":true,"IPv6Network":"fd00:10:244::/56"}"#)
        #expect(!six.ipv4Enabled && six.ipv6Enabled)
        for bad in [#"{"Network":"fd00::/48"}"#, #"{"Network":"10.244.0.0/16","EnableIPv6":true}"#] {
            #expect(throws: AgentError.self, "\(bad)") { try load(bad) }
        }
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

    /// The dual-stack and IPv6-only cases: backend and the families of the network.
    static let familyCases: [(backend: String, families: [IPAddress.Family])] = [
        ("vxlan", [.v4, .v6]), ("host-gw", [.v4, .v6]), ("host-gw", [.v6]),
    ]

    @Test("dual stack and IPv6 only: a subnet per family from podCIDRs, flannel's v6 annotations, routes per family, pods connect over each",
          .privileged, .timeLimit(.minutes(1)), arguments: familyCases.indices)
    func families(_ which: Int) async throws {
        let (backend, families) = Self.familyCases[which]
        var keys = [#""EnableIPv6":true,"IPv6Network":"fd00:10:244::/56""#, #""Backend":{"Type":"\#(backend)"}"#]
        keys.insert(families.contains(.v4) ? #""Network":"10.244.0.0/16""# : #""EnableIPv4":false"#, at: 0)
        let network = "{" + keys.joined(separator: ",") + "}"
        let names = Self.annotations
        try await withTimeout(.seconds(50), "the \(backend) \(families) kube-subnet-mgr lab") {
            try await KubeFlannelLab.with(nodes: 2, families: families, network: network) { lab in
                let cluster = lab.cluster
                try lab.start(0)
                try lab.start(1)
                let available = { (node: Node) in node.condition("NetworkUnavailable")?.status == "False" }
                let nodes = [try await lab.waitForNode("node-1", available), try await lab.waitForNode("node-2", available)]
                for (index, node) in nodes.enumerated() {
                    var expected = [names.backendType: backend, names.kubeSubnetManager: "true"]
                    func data(_ family: IPAddress.Family) throws -> String {
                        backend == "vxlan" ? #"{"VNI":1,"VtepMAC":"\#(try #require(try lab.vtepMAC(index, family: family)))"}"# : "null"
                    }
                    if families.contains(.v4) {
                        expected[names.backendData] = try data(.v4)
                        expected[names.publicIP] = "192.168.50.1\(index + 1)"
                    }
                    expected[names.backendV6Data] = try data(.v6)
                    expected[names.publicIPv6] = KubeFlannelLab.ipv6Underlay(index)
                    #expect(node.annotations == expected, "\(cluster.log(index))")
                    let environment = cluster.subnetEnvironment(index) ?? [:]
                    #expect(environment["FLANNEL_IPV6_NETWORK"] == "fd00:10:244::/56")
                    #expect(environment["FLANNEL_IPV6_SUBNET"] == "fd00:10:244:\(index + 1)::1/64")
                    #expect(environment["FLANNEL_SUBNET"] == (families.contains(.v4) ? "10.244.\(index + 1).1/24" : nil))
                }
                // Each family's route to the other node: via its underlay address (host-gw) or onlink on its VTEP (vxlan).
                for family in families {
                    let peer = family == .v4 ? "10.244.2.0/24" : "fd00:10:244:2::/64"
                    let via = backend == "vxlan"
                        ? (family == .v4 ? "10.244.2.0 dev flannel.1" : "fd00:10:244:2:: dev flannel-v6.1")
                        : (family == .v4 ? "192.168.50.12 dev eth0" : "fd50::12 dev eth0")
                    #expect(cluster.eventually(10) { (try? lab.overlayRoutes(0, family: family)) == [peer: via] }, "\((try? lab.overlayRoutes(0, family: family)) ?? [:])")
                }
                let pods = [try lab.addPodAddresses(0), try lab.addPodAddresses(1)]
                #expect(pods.allSatisfy { Set($0.keys) == Set(families) }, "\(pods)")
                for family in families {
                    let (a, b) = (pods[0][family]!, pods[1][family]!)
                    #expect(cluster.eventually(10) { (try? cluster.ping(from: 0, source: a, to: b)) == true }, "IPv\(family.rawValue) \(a) → \(b)")
                    #expect(try cluster.ping(from: 1, source: b, to: a), "IPv\(family.rawValue) \(b) → \(a)")
                }

                // A node a flannel daemon annotated is a peer of each family it carries; deleting it removes both routes.
                var foreign = Node(name: "flannel-node")
                foreign.podCIDRs = families.map { $0 == .v4 ? "10.244.9.0/24" : "fd00:10:244:9::/64" }
                foreign.annotations = [names.backendType: backend, names.kubeSubnetManager: "true", names.publicIPv6: "fd50::99"]
                foreign.annotations[names.backendV6Data] = backend == "vxlan" ? #"{"VNI":1,"VtepMAC":"0e:00:00:00:06:99"}"# : "null"
                if families.contains(.v4) {
                    foreign.annotations[names.publicIP] = "192.168.50.99"
                    foreign.annotations[names.backendData] = backend == "vxlan" ? #"{"VNI":1,"VtepMAC":"0e:00:00:00:00:99"}"# : "null"
                }
                _ = try await lab.fixture.create(.nodes, object: foreign.json)
                let foreignRoutes = { (family: IPAddress.Family) in
                    (try? lab.overlayRoutes(1, family: family).keys.contains(family == .v4 ? "10.244.9.0/24" : "fd00:10:244:9::/64")) == true
                }
                for family in families { #expect(cluster.eventually(10) { foreignRoutes(family) }, "IPv\(family.rawValue): \(cluster.log(1))") }
                try await lab.fixture.delete(.nodes, name: "flannel-node")
                for family in families { #expect(cluster.eventually(10) { !foreignRoutes(family) }, "IPv\(family.rawValue)") }
                // The other node's routes stayed through all of it.
                #expect(try lab.overlayRoutes(1, family: families[0]).keys.contains(families[0] == .v4 ? "10.244.1.0/24" : "fd00:10:244:1::/64"))
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
