import ChildProcess
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
@testable import Datastore
#if canImport(Glibc)
import Glibc
#endif

/// Real etcd members (Debian's etcd-server, /usr/bin/etcd) on free 127.0.0.1 ports with data
/// in a temporary directory; every member is stopped (by PID) and the directory removed after.
struct EtcdCluster {
    struct Member {
        var name: String
        var clientPort: Int
        var peerPort: Int
        var process: RunningProcess?
        var endpoint: HTTPEndpoint { HTTPEndpoint(host: "127.0.0.1", port: clientPort) }
    }

    static let executable = "/usr/bin/etcd"
    var members: [Member]
    let directory: String

    var endpoints: [HTTPEndpoint] { members.map(\.endpoint) }
    var location: String { "etcd:" + endpoints.map(\.description).joined(separator: ",") }

    static func with<T>(members count: Int, _ body: (inout EtcdCluster) async throws -> T) async throws -> T {
        try await withTemporaryDirectory { directory in
            var cluster = EtcdCluster(
                members: (0..<count).map { Member(name: "m\($0)", clientPort: freeLoopbackPort(), peerPort: freeLoopbackPort()) },
                directory: directory)
            // Stopped off the concurrency pool: a 2 s grace period must not stall other tests.
            func stop(_ cluster: EtcdCluster) async {
                let processes = cluster.members.compactMap(\.process)
                _ = try? await offPool { for process in processes { process.terminate(graceMilliseconds: 2000) } }
            }
            do {
                try cluster.start()
                try await cluster.waitHealthy()
                let result = try await body(&cluster)
                await stop(cluster)
                return result
            } catch {
                await stop(cluster)
                throw error
            }
        }
    }

    private mutating func start() throws {
        let initial = members.map { "\($0.name)=http://127.0.0.1:\($0.peerPort)" }.joined(separator: ",")
        for index in members.indices {
            let member = members[index]
            let arguments = [
                "--name", member.name, "--data-dir", "\(directory)/\(member.name).etcd",
                "--listen-client-urls", "http://127.0.0.1:\(member.clientPort)",
                "--advertise-client-urls", "http://127.0.0.1:\(member.clientPort)",
                "--listen-peer-urls", "http://127.0.0.1:\(member.peerPort)",
                "--initial-advertise-peer-urls", "http://127.0.0.1:\(member.peerPort)",
                "--initial-cluster", initial, "--initial-cluster-state", "new",
                "--initial-cluster-token", "swcni-test-\(getpid())",
                "--heartbeat-interval", "50", "--election-timeout", "500",
            ]
            members[index].process = try ChildProcess.launch(
                Self.executable, arguments: arguments, standardOutput: .null,
                standardError: .file("\(directory)/\(member.name).log"))
        }
    }

    /// Polls every member until each answers a read (about 0.6 s on a quiet machine).
    func waitHealthy(timeoutMilliseconds: Int = 20000) async throws {
        let deadline = FileSystem.nowMilliseconds() + Int64(timeoutMilliseconds)
        for member in members where member.process != nil {
            let probe = EtcdDatastore(endpoints: [member.endpoint], requestTimeoutMilliseconds: 500, operationTimeoutMilliseconds: 300)
            while true {
                if (try? await probe.list(prefix: "/probe")) != nil { break }
                guard FileSystem.nowMilliseconds() < deadline else {
                    throw DatastoreError(.timedOut, "etcd member \(member.name) did not become healthy")
                }
                await sleepMilliseconds(50)
            }
        }
    }

    struct Status: Decodable {
        struct Header: Decodable { var member_id: String? }
        var header: Header?
        var leader: String?
    }

    /// The index of the current leader, asking each live member's `/v3/maintenance/status`.
    func leaderIndex() async throws -> Int? {
        let members = members
        return try await offPool { try Self.leaderIndex(members) }
    }

    private static func leaderIndex(_ members: [Member]) throws -> Int? {
        for (index, member) in members.enumerated() where member.process != nil {
            let store = EtcdDatastore(endpoints: [member.endpoint], requestTimeoutMilliseconds: 1000, operationTimeoutMilliseconds: 500)
            let status = try? store.exchange("/v3/maintenance/status", body: Array("{}".utf8), idempotent: true) {
                try JSONDecoder().decode(Status.self, from: Data($0))
            }
            if let status, let leader = status.leader, leader == status.header?.member_id { return index }
        }
        return nil
    }

    mutating func kill(member index: Int) async {
        guard let process = members[index].process else { return }
        process.signal(SIGKILL)
        _ = try? await offPool { try process.wait() }
        members[index].process = nil
    }
}
