import ChildProcess
import Datastore
import Foundation
import Namespaces
import NetPrimitives
import Netlink
import TestSupport
import Testing

/// Node namespaces on a bridge in a fabric namespace, a shared file store in a temporary
/// directory, one `swift-flanneld` process per node (started and stopped by the test) and a
/// pod-like address per node (`10.244.X.5/24` on a veth `pod0` inside the node).
final class FlannelCluster: @unchecked Sendable {
    // @unchecked: used by one test task at a time; the agents array is only touched from it.
    let fabric: NetworkNamespace
    let nodes: [NetworkNamespace]
    let directory: String
    let store: any Datastore
    /// The `--store` argument of the agents.
    let storeLocation: String
    /// With an etcd store: etcd runs inside the fabric namespace on 192.168.50.1 (the bridge),
    /// reached by the agents over the underlay and by the test through `etcdctl` in the fabric.
    var etcd: RunningProcess?
    var agents: [RunningProcess?]
    static let etcdEndpoint = "http://192.168.50.1:2379"

    static let prefix = "/coreos.com/network"

    init(_ namespaces: [NetworkNamespace], etcd useEtcd: Bool = false) throws {
        fabric = namespaces[0]
        nodes = Array(namespaces.dropFirst())
        directory = NSTemporaryDirectory() + "swcni-flanneld-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        try FileManager.default.createDirectory(atPath: directory + "/store", withIntermediateDirectories: true)
        store = try StoreLocation.open("file:" + directory + "/store")
        storeLocation = useEtcd ? "etcd:" + Self.etcdEndpoint : "file:" + directory + "/store"
        agents = Array(repeating: nil, count: nodes.count)
        let bridge = try NetlinkHandle(namespace: fabric)
        try bridge.addLink(.bridge("br0"))
        try bridge.setLinkUp("br0")
        for (index, node) in nodes.enumerated() {
            let port = try InterfaceName("n\(index + 1)")
            try bridge.addLink(.veth(port, peer: "eth0", peerNamespace: node))
            try bridge.setMaster("br0", of: port)
            try bridge.setLinkUp(port)
            let handle = try NetlinkHandle(namespace: node)
            try handle.addAddress(Address(try IPNetwork(parsing: "192.168.50.1\(index + 1)/24")), device: "eth0")
            try handle.setLinkUp("eth0")
        }
        if useEtcd {
            try bridge.addAddress(Address(try IPNetwork(parsing: "192.168.50.1/24")), device: "br0")
            etcd = try fabric.launchProcess(
                "/usr/bin/etcd",
                arguments: ["--name", "fabric", "--data-dir", directory + "/etcd",
                            "--listen-client-urls", Self.etcdEndpoint, "--advertise-client-urls", Self.etcdEndpoint,
                            "--listen-peer-urls", "http://127.0.0.1:2380", "--initial-advertise-peer-urls", "http://127.0.0.1:2380",
                            "--initial-cluster", "fabric=http://127.0.0.1:2380"],
                standardError: .file(directory + "/etcd.log"))
            guard eventually(20, { (try? etcdctl(["get", "/probe"]))?.status.isSuccess == true }) else {
                throw AgentTestError("etcd did not start: \((try? String(contentsOfFile: directory + "/etcd.log", encoding: .utf8)) ?? "")")
            }
        }
    }

    func etcdctl(_ arguments: [String]) throws -> ChildProcessOutput {
        try fabric.runProcess(
            "/usr/bin/etcdctl", arguments: ["--endpoints", Self.etcdEndpoint, "--command-timeout=2s"] + arguments,
            environment: ["ETCDCTL_API": "3", "PATH": "/usr/bin:/bin"], timeoutMilliseconds: 5000)
    }

    /// Stops every agent still running and removes the temporary directory.
    func tearDown() {
        for agent in agents.compactMap({ $0 }) { agent.terminate(graceMilliseconds: 2000) }
        etcd?.terminate(graceMilliseconds: 2000)
        try? FileManager.default.removeItem(atPath: directory)
    }

    func subnetFile(_ index: Int) -> String { directory + "/subnet-\(index + 1).env" }
    func logFile(_ index: Int) -> String { directory + "/agent-\(index + 1).log" }
    func log(_ index: Int) -> String { (try? String(contentsOfFile: logFile(index), encoding: .utf8)) ?? "" }

    func writeConfiguration(_ json: String) async throws {
        let key = KeyLayout.flannelConfig(prefix: Self.prefix)
        if etcd != nil {
            let output = try etcdctl(["put", key, json])
            guard output.status.isSuccess else { throw AgentTestError("etcdctl put: \(output.standardErrorText)") }
        } else {
            try await store.put(key, string: json)
        }
    }

    /// Deletes a node's lease as an admin would (`etcdctl del`); returns whether it existed.
    func deleteLease(_ subnet: IPNetwork) async throws -> Bool {
        let key = KeyLayout.flannelSubnet(subnet.network.description, prefix: Self.prefix)
        if etcd != nil {
            let output = try etcdctl(["del", key])
            return output.standardOutputText.trimmingCharacters(in: .whitespacesAndNewlines) == "1"
        }
        return try await store.delete(key)
    }

    static var binary: String {
        let executable = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
        return (executable as NSString).deletingLastPathComponent + "/swift-flanneld"
    }

    /// `interface`: the agent's underlay options (default `--iface eth0`).
    func start(_ index: Int, extra: [String] = [], interface: [String] = ["--iface", "eth0"]) throws {
        agents[index] = try nodes[index].launchProcess(
            Self.binary,
            arguments: ["--node", "node-\(index + 1)"] + interface + ["--store", storeLocation,
                        "--subnet-file", subnetFile(index), "--listen", "127.0.0.1:9101", "--resync-interval", "2",
                        "--lease-ttl", "60"] + extra,
            standardError: .file(logFile(index)))
    }

    /// SIGTERM and wait; returns whether the agent exited with status 0.
    @discardableResult
    func stop(_ index: Int) -> Bool {
        defer { agents[index] = nil }
        guard let status = agents[index]?.terminate(graceMilliseconds: 5000) else { return false }
        return status.isSuccess
    }

    /// Polls `condition` every 100 ms until it holds or `seconds` pass.
    func eventually(_ seconds: Double = 10, _ condition: () throws -> Bool) rethrows -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            if try condition() { return true }
            usleep(100_000)
        }
        return try condition()
    }

    func subnetEnvironment(_ index: Int) -> [String: String]? {
        guard let text = try? String(contentsOfFile: subnetFile(index), encoding: .utf8) else { return nil }
        var values: [String: String] = [:]
        for line in text.split(separator: "\n") {
            let parts = line.split(separator: "=", maxSplits: 1)
            if parts.count == 2 { values[String(parts[0])] = String(parts[1]) }
        }
        return values
    }

    /// The node's subnet from its subnet.env (`10.244.X.0/24`).
    func subnet(_ index: Int) -> IPNetwork? {
        subnetEnvironment(index)?["FLANNEL_SUBNET"].flatMap { try? IPNetwork(parsing: $0).network }
    }

    /// Gives node `index` a pod-like address, the subnet's .5, on a veth inside the node.
    func addPodAddress(_ index: Int) throws -> String {
        let subnet = try #require(self.subnet(index))
        let handle = try NetlinkHandle(namespace: nodes[index])
        try handle.addLink(.veth("pod0", peer: "pod0p"))
        let address = try IPNetwork(address: subnet.address.advanced(by: 5)!, prefixLength: subnet.prefixLength)
        try handle.addAddress(Address(address), device: "pod0")
        try handle.setLinkUp("pod0")
        try handle.setLinkUp("pod0p")
        return address.address.description
    }

    func json(_ index: Int, _ arguments: [String], tool: String = "ip") throws -> [[String: Any]] {
        let output = try nodes[index].runProcess("/usr/sbin/\(tool)", arguments: ["-j"] + arguments, timeoutMilliseconds: 5000)
        let text = output.standardOutputText.trimmingCharacters(in: .whitespacesAndNewlines)
        if text.isEmpty { return [] }
        return try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [[String: Any]] ?? []
    }

    func overlayRoutes(_ index: Int) throws -> Set<String> {
        Set(try json(index, ["route", "show", "proto", "91"]).compactMap { $0["dst"] as? String })
    }

    func permanentNeighbors(_ index: Int) throws -> Int {
        try json(index, ["neigh", "show", "dev", "flannel.1", "nud", "permanent"]).count
    }

    func forwardingEntries(_ index: Int) throws -> [[String: Any]] {
        try json(index, ["fdb", "show", "dev", "flannel.1"], tool: "bridge").filter { $0["dst"] != nil }
    }

    /// One ping from `source` (a pod-like address on node `index`) to `destination`.
    func ping(from index: Int, source: String, to destination: String, timeoutSeconds: Int = 1) throws -> Bool {
        try nodes[index].runProcess(
            "/usr/bin/ping", arguments: ["-c1", "-W\(timeoutSeconds)", "-I", source, destination], timeoutMilliseconds: 5000
        ).status.isSuccess
    }

    /// The packet counters of the rules of `inet swiftcni_nat` on node `index`, in rule order
    /// (empty when the table does not exist).
    func masqueradeCounters(_ index: Int) throws -> [Int] {
        let output = try nodes[index].runProcess(
            "/usr/sbin/nft", arguments: ["-j", "list", "table", "inet", "swiftcni_nat"], timeoutMilliseconds: 5000)
        guard output.status.isSuccess,
              let document = try JSONSerialization.jsonObject(with: Data(output.standardOutput)) as? [String: Any],
              let items = document["nftables"] as? [[String: Any]]
        else { return [] }
        return items.compactMap { $0["rule"] as? [String: Any] }.map { rule in
            let expressions = rule["expr"] as? [[String: Any]] ?? []
            return expressions.compactMap { ($0["counter"] as? [String: Any])?["packets"] as? Int }.first ?? -1
        }
    }

    func http(_ index: Int, _ path: String) throws -> (ok: Bool, body: String) {
        let output = try nodes[index].runProcess(
            "/usr/bin/curl", arguments: ["-sf", "-m", "2", "http://127.0.0.1:9101" + path], timeoutMilliseconds: 5000)
        return (output.status.isSuccess, output.standardOutputText)
    }
}

extension FlannelCluster {
    /// Creates the cluster, runs `body`, and always stops the agents and removes the files.
    static func with(nodes count: Int, etcd: Bool = false, _ body: (FlannelCluster) async throws -> Void) async throws {
        try await NamespaceFixture.with(count: count + 1) { namespaces in
            let cluster = try FlannelCluster(namespaces, etcd: etcd)
            defer { cluster.tearDown() }
            try await body(cluster)
        }
    }
}

typealias ChildProcessOutput = ChildProcess.Output

struct AgentTestError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}
