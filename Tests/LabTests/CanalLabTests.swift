#if canImport(Glibc)
import Glibc
#endif
import ChildProcess
import Datastore
import Foundation
import Lab
import LabProfiles
import Namespaces
import NetPrimitives
import Policy
import Testing
import TestSupport

/// The canal profile end to end: swift-canald (swift-flanneld's VXLAN overlay + the
/// PolicyAgent) and swift-canal on 3 nodes; policies applied through the lab take effect as
/// `explainPolicy` predicts, and 100 policy updates neither let a denied flow through nor
/// drop an established allowed connection.
@Suite(.serialized) struct CanalLabTests {
    static let defaultDeny = """
        apiVersion: networking.k8s.io/v1
        kind: NetworkPolicy
        metadata: {name: default-deny, namespace: x}
        spec:
          podSelector: {}
          policyTypes: [Ingress]
        """

    /// Lets pods labelled role=client reach pods labelled role=server (any port). `variant`
    /// 1 spells the same selector as an expression, so both select the same pods.
    static func allowClients(variant: Int) -> String {
        let from =
            variant == 0
            ? "podSelector: {matchLabels: {role: client}}"
            : "podSelector: {matchExpressions: [{key: role, operator: In, values: [client, client-spare]}]}"
        return """
            apiVersion: networking.k8s.io/v1
            kind: NetworkPolicy
            metadata: {name: allow-clients, namespace: x}
            spec:
              podSelector: {matchLabels: {role: server}}
              policyTypes: [Ingress]
              ingress:
              - from:
                - \(from)
            """
    }

    /// The profile's name, and it survives the state file (JSON round trip).
    @Test func canalProfile() throws {
        #expect(CanalProfile().name == "canal" && CanalProfile().enforcesPolicy)
        let decoded = try JSONDecoder().decode(CanalProfile.self, from: try JSONEncoder().encode(CanalProfile()))
        #expect(decoded == CanalProfile())
    }

    @Test(.privileged) func threeNodeCanalLabWithPolicy() async throws {
        let root = try LabTestSupport.temporaryDirectory()
        let name = LabTestSupport.uniqueLabName()
        let directory = root + "/lab"
        defer {
            _ = try? Lab.down(name: name, stateDirectory: directory)
            try? FileManager.default.removeItem(atPath: root)
        }
        let lab = try await Lab.up(LabConfiguration(name: name, stateDirectory: directory, profile: .canal, nodeCount: 3))
        // Each node has its own flannel /24 lease (status shows it) and its agent runs.
        let nodes = await lab.nodes()
        let subnets = nodes.compactMap(\.subnet)
        #expect(nodes.allSatisfy { $0.agent == .running })
        #expect(Set(subnets).count == 3 && subnets.allSatisfy { $0.hasPrefix("10.244.") && $0.hasSuffix("/24") }, "\(subnets)")
        #expect(await lab.status().plugin == "canal")

        let server = try PodReference(parsing: "x/server")
        let client = try PodReference(parsing: "x/client")
        let other = try PodReference(parsing: "x/other")
        try await lab.addPod(server, node: 0, labels: ["role": "server"])
        try await lab.addPod(client, node: 1, labels: ["role": "client"])
        try await lab.addPod(other, node: 2, labels: ["role": "other"])
        try await lab.addPod(try PodReference(parsing: "x/peer"), node: 0, labels: ["role": "client"])
        let pods = await lab.pods()
        // One pod record: the lab's fields (labels, named ports) over swift-canal's (host interface).
        let record = try #require(try await StoreLocation.open(await lab.status().store).get(KeyLayout.pod(namespace: "x", name: "server")))
        #expect(record.string.contains("\"hostInterface\"") && record.string.contains("serve-80-tcp") && record.string.contains("\"role\":\"server\""), "\(record.string)")
        for pod in pods {
            let subnet = try #require(nodes.first { $0.index == pod.node }?.subnet)
            #expect(try IPNetwork(parsing: subnet).contains(try IPAddress(parsing: pod.address ?? "")), "\(pod)")
        }

        // No policy: every pair connects, TCP and UDP, same node and across nodes.
        let open = try await lab.probe(ProbeOptions(ports: [80], timeoutMilliseconds: 1_000))
        #expect(open.count == 4 * 3 * 2 && open.allSatisfy(\.connected), "\(open.filter { !$0.connected })")

        // Default deny + allow clients: the probes follow the evaluator.
        _ = try await lab.applyPolicies(Self.defaultDeny + "\n---\n" + Self.allowClients(variant: 0))
        var expected = try await Self.predicted(lab)
        #expect(expected.values.contains(true) && expected.values.contains(false))
        #expect(expected[Self.key("x/client", "x/server", .tcp)] == true)
        #expect(expected[Self.key("x/other", "x/server", .tcp)] == false)
        try await Self.expectProbes(lab, match: expected)

        // Relabelling `other` as a client lets it in.
        _ = try await lab.labelPod(other, ["role=client"])
        expected = try await Self.predicted(lab)
        #expect(expected[Self.key("x/other", "x/server", .tcp)] == true)
        try await Self.expectProbes(lab, match: expected)
        _ = try await lab.labelPod(other, ["role=other"])
        expected = try await Self.predicted(lab)
        #expect(expected[Self.key("x/other", "x/server", .tcp)] == false)
        try await Self.expectProbes(lab, match: expected)

        try await Self.policyUpdatesUnderLoad(lab, expected: expected)

        // A node that leaves gives its flannel lease back (deleted from the store).
        let store = try StoreLocation.open(await lab.status().store)
        let lease = KeyLayout.flannelSubnet(try #require(nodes.first { $0.index == 2 }?.subnet))
        #expect(try await store.get(lease) != nil)
        try await lab.removeNode(2)
        #expect(try await store.get(lease) == nil)
        try await lab.down()
        #expect(LabTestSupport.namespaces(of: name).isEmpty)
    }

    /// 100 updates of `allow-clients` alternating between two spellings of the same selector,
    /// with a held TCP connection client→server exchanging data after every update and a probe
    /// of every pair (port 80, TCP) after every update.
    static func policyUpdatesUnderLoad(_ lab: Lab, expected: [String: Bool]) async throws {
        let pods = await lab.pods()
        let serverPod = try #require(pods.first { $0.name == "server" })
        let clientPod = try #require(pods.first { $0.name == "client" })
        let connection = try await HeldConnection.open(
            server: try NetworkNamespace.open(name: serverPod.networkNamespace),
            client: try NetworkNamespace.open(name: clientPod.networkNamespace),
            address: try #require(serverPod.address), port: 8080)
        defer { connection.close() }
        #expect(connection.exchange(round: 0))

        // The two spellings are different rules: the server node's policy table changes.
        let serverNode = try #require(await lab.nodes().first { $0.index == serverPod.node })
        let before = try policyTable(in: serverNode.networkNamespace)
        var tableChanged = false

        var exchanges = 1
        var failedExchanges: [Int] = []
        var wrongProbes: [String] = []
        for update in 1...100 {
            _ = try await lab.applyPolicies(allowClients(variant: update % 2))
            if !connection.exchange(round: update) { failedExchanges.append(update) }
            exchanges += 1
            let results = try await Lab.probe(pods, ProbeOptions(ports: [80], protocols: [.tcp], timeoutMilliseconds: 250))
            for result in results where expected[key(result.from, result.to, .tcp)] != result.connected {
                wrongProbes.append("update \(update): \(result.from)→\(result.to) connected=\(result.connected)")
            }
            if !connection.exchange(round: 1_000 + update) { failedExchanges.append(1_000 + update) }
            exchanges += 1
            if !tableChanged, update % 2 == 1 { tableChanged = try policyTable(in: serverNode.networkNamespace) != before }
        }
        #expect(tableChanged, "no update changed the server node's nftables policy table")
        #expect(failedExchanges.isEmpty, "the held connection failed at \(failedExchanges) of \(exchanges) exchanges")
        #expect(wrongProbes.isEmpty, "\(wrongProbes.prefix(20))")
        #expect(try await lab.policies().count == 2)
    }

    /// `nft list table inet swiftcni_policy` inside a node (rule handles and counters dropped).
    static func policyTable(in namespace: String) throws -> String {
        let output = try NetworkNamespace.open(name: namespace).runProcess(
            "/usr/sbin/nft", arguments: ["list", "table", "inet", "swiftcni_policy"], timeoutMilliseconds: 5_000)
        guard output.status.isSuccess else { throw CalicoLabTestError(output.standardErrorText) }
        return output.standardOutputText.replacing(/counter packets \d+ bytes \d+/, with: "counter")
    }

    static func key(_ from: String, _ to: String, _ transport: ProbeProtocol) -> String { "\(from)>\(to)/\(transport.rawValue)" }

    /// The evaluator's verdict for every ordered pair of pods, port 80, TCP and UDP.
    static func predicted(_ lab: Lab) async throws -> [String: Bool] {
        let pods = await lab.pods()
        var result: [String: Bool] = [:]
        for source in pods {
            for destination in pods where destination != source {
                for transport in [ProbeProtocol.tcp, .udp] {
                    let explanation = try await lab.explainPolicy(
                        from: try PodReference(parsing: source.qualifiedName), to: try PodReference(parsing: destination.qualifiedName),
                        port: 80, protocol: transport == .tcp ? .tcp : .udp)
                    result[key(source.qualifiedName, destination.qualifiedName, transport)] = explanation.isAllowed
                }
            }
        }
        return result
    }

    /// Probes (port 80, TCP and UDP) until they match `expected` (the agents apply a store
    /// change within a poll interval and one transaction); fails with the differences after 10 s.
    static func expectProbes(_ lab: Lab, match expected: [String: Bool]) async throws {
        var differences: [String] = []
        let clock = ContinuousClock()
        let start = clock.now
        repeat {
            let results = try await lab.probe(ProbeOptions(ports: [80], timeoutMilliseconds: 400))
            differences = results.filter { expected[key($0.from, $0.to, $0.protocol)] != $0.connected }
                .map { "\($0.from)→\($0.to) \($0.protocol.rawValue) connected=\($0.connected)" }
            if differences.isEmpty { return }
        } while clock.now - start < .seconds(10)
        Issue.record("probes differ from explain: \(differences)")
    }
}

/// One TCP connection from a socket in the client pod to a listener in the server pod, kept
/// open: each exchange sends 16 bytes each way (client→server, then the server echoes them).
/// Sockets are created on a thread inside each pod's namespace and stay bound to it.
final class HeldConnection: Sendable {
    let serverSide: Int32
    let clientSide: Int32

    init(serverSide: Int32, clientSide: Int32) {
        self.serverSide = serverSide
        self.clientSide = clientSide
    }

    static func open(server: NetworkNamespace, client: NetworkNamespace, address: String, port: UInt16) async throws -> HeldConnection {
        let listener = try await server.run { () throws -> Int32 in
            let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            var one: Int32 = 1
            setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
            var any = sockaddr_in(port: port, address: INADDR_ANY)
            guard withUnsafePointer(to: &any, { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }) == 0, listen(fd, 4) == 0
            else { throw CalicoLabTestError("listen on \(port): errno \(errno)") }
            return fd
        }
        defer { Glibc.close(listener) }
        var parsed = in_addr()
        guard inet_pton(AF_INET, address, &parsed) == 1 else { throw CalicoLabTestError("bad address \(address)") }
        let destination = parsed.s_addr
        let connected = try await client.run { () throws -> Int32 in
            let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            var target = sockaddr_in(port: port, address: destination)
            var limit = timeval(tv_sec: 3, tv_usec: 0)  // bounds connect too
            setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &limit, socklen_t(MemoryLayout<timeval>.size))
            guard withUnsafePointer(to: &target, { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }) == 0
            else { throw CalicoLabTestError("connect to \(address):\(port): errno \(errno)") }
            return fd
        }
        let accepted = accept(listener, nil, nil)
        guard accepted >= 0 else { throw CalicoLabTestError("accept: errno \(errno)") }
        for fd in [accepted, connected] {
            var timeout = timeval(tv_sec: 2, tv_usec: 0)
            setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
            setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        }
        return HeldConnection(serverSide: accepted, clientSide: connected)
    }

    /// One round trip; false when a byte was lost, late (2 s) or the connection broke.
    func exchange(round: Int) -> Bool {
        let message = Array(String(format: "round %010d\n", round).utf8)
        guard send(clientSide, message, message.count, Int32(MSG_NOSIGNAL)) == message.count,
            let received = Self.receive(serverSide, count: message.count), received == message,
            send(serverSide, received, received.count, Int32(MSG_NOSIGNAL)) == received.count,
            let echoed = Self.receive(clientSide, count: message.count)
        else { return false }
        return echoed == message
    }

    static func receive(_ fd: Int32, count: Int) -> [UInt8]? {
        var buffer = [UInt8](repeating: 0, count: count)
        var filled = 0
        while filled < count {
            let read = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress! + filled, count - filled, 0) }
            guard read > 0 else { return nil }
            filled += read
        }
        return buffer
    }

    func close() {
        Glibc.close(clientSide)
        Glibc.close(serverSide)
    }
}

extension sockaddr_in {
    /// `address` in network byte order (as `inet_pton` gives it; INADDR_ANY is 0).
    init(port: UInt16, address: in_addr_t) {
        self.init()
        sin_family = sa_family_t(AF_INET)
        sin_port = port.bigEndian
        sin_addr.s_addr = address
    }
}
