#if canImport(Glibc)
import Glibc
#endif
import ChildProcess
import Datastore
import Foundation
import Kubernetes
import KubernetesTestServer
import Namespaces
import NetPrimitives
import Netlink
import TestSupport

/// FlannelCluster's node namespaces plus the fixture API server (HTTPS, bearer tokens) serving
/// inside the fabric namespace on the bridge address 192.168.50.1:6443, where the agents
/// reach it over their underlay. The test process reads and writes objects through the
/// fixture's direct access (it is not in the fabric namespace). Certificates are made with
/// openssl in the cluster's temporary directory.
final class KubeFlannelLab: @unchecked Sendable {
    // @unchecked: used by one test task at a time, as FlannelCluster.
    let cluster: FlannelCluster
    let fixture: APIServerFixture
    let pki: String
    static let server = "https://192.168.50.1:6443"
    static let token = "swiftcni-agent-token"
    static let vxlan = #"{"Network":"10.244.0.0/16","Backend":{"Type":"vxlan"}}"#

    private init(cluster: FlannelCluster, fixture: APIServerFixture, pki: String) {
        self.cluster = cluster
        self.fixture = fixture
        self.pki = pki
    }

    /// Runs `body` with a lab of `count` nodes whose Node objects exist with
    /// `spec.podCIDR` 10.244.N.0/24 (node-N); tears everything down afterwards. `families`:
    /// the pod CIDRs each node gets (IPv6: `fd00:10:244:N::/64`, `spec.podCIDR` the first);
    /// with IPv6 every node's underlay also gets `fd50::1N/64` (no DAD). `network`: the
    /// agents' net-conf.json.
    static func with(
        nodes count: Int, families: [IPAddress.Family] = [.v4], network: String = vxlan, _ body: (KubeFlannelLab) async throws -> Void
    ) async throws {
        try await FlannelCluster.with(nodes: count) { cluster in
            let pki = cluster.directory + "/pki"
            try generateCertificates(in: pki)
            let bridge = try NetlinkHandle(namespace: cluster.fabric)
            try bridge.addAddress(Address(try IPNetwork(parsing: "192.168.50.1/24")), device: "br0")
            if families.contains(.v6) {
                for (index, node) in cluster.nodes.enumerated() {
                    try NetlinkHandle(namespace: node).addAddress(
                        Address(try IPNetwork(parsing: ipv6Underlay(index) + "/64"), flags: .noDuplicateAddressDetection), device: "eth0")
                }
            }
            let descriptor = try await cluster.fabric.run { try ListeningSocket.tcp(address: "192.168.50.1", port: 6443) }
            let store = try FileDatastore(directory: cluster.directory + "/kube-store", pollIntervalMilliseconds: 10, synchronousWrites: false)
            let fixture = try await APIServerFixture.start(
                store: store, host: "192.168.50.1", boundSocket: descriptor,
                tls: FixtureTLS(certificatePath: pki + "/server.crt", privateKeyPath: pki + "/server.key"), tokens: [token])
            let lab = KubeFlannelLab(cluster: cluster, fixture: fixture, pki: pki)
            do {
                try "\(token)\n".write(toFile: lab.tokenFile, atomically: true, encoding: .utf8)
                try network.write(toFile: lab.netConfig, atomically: true, encoding: .utf8)
                try lab.writeKubeconfig(lab.kubeconfig)
                for index in 0..<count {
                    var node = Node(name: "node-\(index + 1)")
                    node.podCIDRs = families.map { $0 == .v4 ? "10.244.\(index + 1).0/24" : "fd00:10:244:\(index + 1)::/64" }
                    node.podCIDR = node.podCIDRs.first
                    _ = try await fixture.create(.nodes, object: node.json)
                }
                try await body(lab)
            } catch {
                for index in 0..<count where cluster.agents[index] != nil {
                    print("agent \(index + 1) log:\n\(cluster.log(index))")
                }
                await fixture.shutdown()
                throw error
            }
            await fixture.shutdown()
        }
    }

    /// Node `index`'s IPv6 underlay address (`fd50::11` for node-1).
    static func ipv6Underlay(_ index: Int) -> String { "fd50::1\(index + 1)" }

    /// Gives node `index` a pod-like address of each subnet its subnet.env has (the subnet's
    /// ::5 / .5, on a veth `pod0` inside the node); returns them by family.
    func addPodAddresses(_ index: Int) throws -> [IPAddress.Family: String] {
        let environment = cluster.subnetEnvironment(index) ?? [:]
        let handle = try NetlinkHandle(namespace: cluster.nodes[index])
        try handle.addLink(.veth("pod0", peer: "pod0p"))
        var addresses: [IPAddress.Family: String] = [:]
        for key in ["FLANNEL_SUBNET", "FLANNEL_IPV6_SUBNET"] {
            guard let subnet = environment[key].flatMap({ try? IPNetwork(parsing: $0).network }) else { continue }
            let address = try IPNetwork(address: subnet.address.advanced(by: 5)!, prefixLength: subnet.prefixLength)
            try handle.addAddress(Address(address, flags: subnet.family == .v6 ? .noDuplicateAddressDetection : []), device: "pod0")
            addresses[subnet.family] = address.address.description
        }
        try handle.setLinkUp("pod0")
        try handle.setLinkUp("pod0p")
        return addresses
    }

    var tokenFile: String { cluster.directory + "/token" }
    var kubeconfig: String { cluster.directory + "/kubeconfig" }
    var netConfig: String { cluster.directory + "/net-conf.json" }

    /// A kubeconfig for the agents: the fixture's URL, `ca` (default: the CA that signed the
    /// server's certificate), and a token file (nil: no credentials).
    func writeKubeconfig(_ path: String, ca: String? = nil, tokenFile: String? = nil) throws {
        let user = tokenFile ?? self.tokenFile
        let text = """
            apiVersion: v1
            kind: Config
            clusters:
            - name: lab
              cluster: {server: "\(Self.server)", certificate-authority: \(ca ?? pki + "/ca.crt")}
            users:
            - name: flannel
              user: {tokenFile: "\(user)"}
            contexts:
            - name: lab
              context: {cluster: lab, user: flannel}
            current-context: lab

            """
        try text.write(toFile: path, atomically: true, encoding: .utf8)
    }

    /// Starts swift-flanneld on node `index` in kube-subnet-mgr mode.
    func start(_ index: Int, kubeconfig: String? = nil, extra: [String] = []) throws {
        cluster.agents[index] = try cluster.nodes[index].launchProcess(
            FlannelCluster.binary,
            arguments: ["--node", "node-\(index + 1)", "--iface", "eth0", "--kube-subnet-mgr", "--kubeconfig", kubeconfig ?? self.kubeconfig,
                        "--net-config-path", netConfig, "--subnet-file", cluster.subnetFile(index), "--resync-interval", "2"] + extra,
            standardError: .file(cluster.logFile(index)))
    }

    func node(_ name: String) async throws -> Node {
        Node(json: try await fixture.get(.nodes, name: name))
    }

    /// Waits (bounded) until `condition` holds for the Node `name`.
    func waitForNode(_ name: String, seconds: Double = 20, _ condition: (Node) -> Bool) async throws -> Node {
        let deadline = ContinuousClock.now + .milliseconds(Int(seconds * 1000))
        while true {
            let node = try await self.node(name)
            if condition(node) { return node }
            guard ContinuousClock.now < deadline else { throw AgentTestError("node \(name) never met the condition: \(node.json)") }
            try await Task.sleep(for: .milliseconds(100))
        }
    }

    /// Waits (bounded) for the agent on node `index` to exit; returns its status.
    func waitForExit(_ index: Int, seconds: Double = 20) async throws -> ExitStatus {
        let deadline = ContinuousClock.now + .milliseconds(Int(seconds * 1000))
        while true {
            if let status = cluster.agents[index]?.poll() {
                cluster.agents[index] = nil
                return status
            }
            guard ContinuousClock.now < deadline else { throw AgentTestError("agent \(index + 1) did not exit: \(cluster.log(index))") }
            try await Task.sleep(for: .milliseconds(100))
        }
    }

    /// The MAC of flannel.1 (flannel-v6.1 for IPv6) on node `index`.
    func vtepMAC(_ index: Int, family: IPAddress.Family = .v4) throws -> String? {
        try cluster.json(index, ["link", "show", family == .v4 ? "flannel.1" : "flannel-v6.1"]).first?["address"] as? String
    }

    /// The proto 91 routes of `family` on node `index`: destination → (gateway, device).
    func overlayRoutes(_ index: Int, family: IPAddress.Family) throws -> [String: String] {
        var routes: [String: String] = [:]
        for route in try cluster.json(index, [family == .v4 ? "-4" : "-6", "route", "show", "proto", "91"]) {
            guard let destination = route["dst"] as? String else { continue }
            routes[destination] = "\(route["gateway"] as? String ?? "-") dev \(route["dev"] as? String ?? "-")"
        }
        return routes
    }

    /// A CA, a server certificate for 192.168.50.1 signed by it, and an unrelated CA.
    static func generateCertificates(in directory: String) throws {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let d = directory
        let key = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
        try openssl(["req", "-x509"] + key + ["-keyout", "\(d)/ca.key", "-out", "\(d)/ca.crt", "-days", "1", "-subj", "/CN=swiftcni-lab-ca"])
        try openssl(["req", "-x509"] + key + ["-keyout", "\(d)/other-ca.key", "-out", "\(d)/other-ca.crt", "-days", "1", "-subj", "/CN=swiftcni-other-ca"])
        try "subjectAltName=IP:192.168.50.1\nextendedKeyUsage=serverAuth\n".write(toFile: "\(d)/server.ext", atomically: true, encoding: .utf8)
        try openssl(["req"] + key + ["-keyout", "\(d)/server.key", "-out", "\(d)/server.csr", "-subj", "/CN=192.168.50.1"])
        try openssl([
            "x509", "-req", "-in", "\(d)/server.csr", "-CA", "\(d)/ca.crt", "-CAkey", "\(d)/ca.key", "-CAcreateserial",
            "-out", "\(d)/server.crt", "-days", "1", "-extfile", "\(d)/server.ext",
        ])
    }

    private static func openssl(_ arguments: [String]) throws {
        let output = try ChildProcess.run("/usr/bin/openssl", arguments: arguments, timeoutMilliseconds: 20_000)
        guard output.status.isSuccess else { throw AgentTestError("openssl \(arguments.joined(separator: " ")): \(output.standardErrorText)") }
    }
}
