import ChildProcess
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
@testable import Datastore
import Lab
import Synchronization
import TestSupport
#if canImport(Glibc)
import Glibc
#endif

/// Real etcd members (Debian's etcd-server, /usr/bin/etcd) on free 127.0.0.1 ports with data
/// in a temporary directory; every member is stopped (by PID) and the directory removed after.
///
/// A reference type: the test body and the cleanup share one record of which members still
/// run, so a body abandoned after its time limit still has every live member stopped (and a
/// member the body killed and reaped is never signalled again: its PID may be reused).
final class EtcdCluster: Sendable {
    struct Member: Sendable {
        var name: String
        var clientPort: Int
        var peerPort: Int
        var process: RunningProcess?
        var usesTLS = false
        var endpoint: HTTPEndpoint { HTTPEndpoint(host: "127.0.0.1", port: clientPort, usesTLS: usesTLS) }
    }

    /// How the members guard their client port.
    struct Guard: Sendable {
        /// HTTPS only, client certificates required (`--client-cert-auth`), from a PKI the
        /// fixture makes with openssl in its temporary directory.
        var clientCertificates = false
        /// etcd users on: a `root` user with ``password``, auth enabled after start.
        var authentication = false
        /// `--auth-token-ttl`: how long an idle simple token lives.
        var tokenTTLSeconds: Int?
        static let password = "swcni-root-pw"
    }

    static let executable = "/usr/bin/etcd"
    private let state: Mutex<[Member]>
    let directory: String
    let protection: Guard
    /// The PKI, when ``Guard/clientCertificates``.
    let certificates: EtcdCertificates?
    /// What a well-configured client passes.
    var security: EtcdSecurity {
        var security = certificates?.clientSecurity ?? .none
        if protection.authentication {
            security.username = "root"
            security.password = Guard.password
        }
        return security
    }

    var members: [Member] { state.withLock { $0 } }
    var endpoints: [HTTPEndpoint] { members.map(\.endpoint) }
    var location: String { "etcd:" + endpoints.map(\.description).joined(separator: ",") }

    private init(members: [Member], directory: String, protection: Guard, certificates: EtcdCertificates?) {
        self.state = Mutex(members)
        self.directory = directory
        self.protection = protection
        self.certificates = certificates
    }

    /// Starts `count` members, waits until each answers, runs `body` (failing with a clear
    /// error when it takes longer than `timeLimit`), then stops every member still running.
    static func with<T: Sendable>(
        members count: Int, guard protection: Guard = Guard(), timeLimit: Duration = .seconds(180),
        _ body: @escaping @Sendable (EtcdCluster) async throws -> T
    ) async throws -> T {
        try await withTemporaryDirectory { directory in
            let certificates = protection.clientCertificates
                ? try EtcdCertificates.generate(in: directory, serverAddresses: ["127.0.0.1", "localhost"]) : nil
            // A port found free may be taken by another test before etcd binds it (the member
            // then exits at once): such a start is retried on new ports, twice at most.
            var attempt = 0
            while true {
                attempt += 1
                let cluster = EtcdCluster(
                    members: (0..<count).map {
                        Member(
                            name: "m\($0)", clientPort: freeLoopbackPort(), peerPort: freeLoopbackPort(),
                            usesTLS: protection.clientCertificates)
                    },
                    directory: directory, protection: protection, certificates: certificates)
                do {
                    try cluster.start()
                    try await cluster.waitHealthy()
                } catch let error as MemberExited where attempt < 3 {
                    await cluster.stopAll()
                    for member in cluster.members { try? FileManager.default.removeItem(atPath: "\(directory)/\(member.name).etcd") }
                    _ = error
                    continue
                } catch {
                    await cluster.stopAll()
                    throw error
                }
                do {
                    let result = try await withTimeout(timeLimit, "the etcd test body") {
                        if protection.authentication { try await cluster.enableAuthentication() }
                        return try await body(cluster)
                    }
                    await cluster.stopAll()
                    return result
                } catch {
                    await cluster.stopAll()
                    throw error
                }
            }
        }
    }

    /// A member's process ended before it answered (its log's last lines say why).
    struct MemberExited: Error, CustomStringConvertible {
        var description: String
    }

    /// Stops every member still running, off the concurrency pool (a 2 s grace period must not
    /// stall other tests).
    func stopAll() async {
        let processes = state.withLock { members in
            defer { for index in members.indices { members[index].process = nil } }
            return members.compactMap(\.process)
        }
        _ = try? await offPool { for process in processes { process.terminate(graceMilliseconds: 2000) } }
    }

    private func start() throws {
        let members = self.members
        let initial = members.map { "\($0.name)=http://127.0.0.1:\($0.peerPort)" }.joined(separator: ",")
        for index in members.indices {
            let member = members[index]
            var arguments = [
                "--name", member.name, "--data-dir", "\(directory)/\(member.name).etcd",
                "--listen-client-urls", member.endpoint.description,
                "--advertise-client-urls", member.endpoint.description,
                "--listen-peer-urls", "http://127.0.0.1:\(member.peerPort)",
                "--initial-advertise-peer-urls", "http://127.0.0.1:\(member.peerPort)",
                "--initial-cluster", initial, "--initial-cluster-state", "new",
                "--initial-cluster-token", "swcni-test-\(getpid())",
                "--heartbeat-interval", "50", "--election-timeout", "500",
            ]
            if let certificates {
                arguments += [
                    "--cert-file", certificates.serverCertificateFile, "--key-file", certificates.serverKeyFile,
                    "--trusted-ca-file", certificates.caFile, "--client-cert-auth",
                ]
            }
            if let ttl = protection.tokenTTLSeconds { arguments += ["--auth-token-ttl", String(ttl)] }
            let process = try ChildProcess.launch(
                Self.executable, arguments: arguments, standardOutput: .null,
                standardError: .file("\(directory)/\(member.name).log"))
            state.withLock { $0[index].process = process }
        }
    }

    /// Polls every member until each answers a read (about 0.6 s on a quiet machine).
    func waitHealthy(timeoutMilliseconds: Int = 20000) async throws {
        let deadline = FileSystem.nowMilliseconds() + Int64(timeoutMilliseconds)
        for member in members where member.process != nil {
            let probe = EtcdDatastore(
                endpoints: [member.endpoint], security: certificates?.clientSecurity ?? .none, requestTimeoutMilliseconds: 500,
                operationTimeoutMilliseconds: 300)
            while true {
                if (try? await probe.list(prefix: "/probe")) != nil { break }
                if let status = member.process?.poll() {
                    throw MemberExited(description: "etcd member \(member.name) exited (\(status)) before it answered: \(logTail(member))")
                }
                guard FileSystem.nowMilliseconds() < deadline else {
                    throw DatastoreError(.timedOut, "etcd member \(member.name) did not become healthy: \(logTail(member))")
                }
                await sleepMilliseconds(50)
            }
        }
    }

    /// The last lines of a member's log, for an error message.
    func logTail(_ member: Member) -> String {
        let text = (try? String(contentsOfFile: "\(directory)/\(member.name).log", encoding: .utf8)) ?? ""
        return text.split(separator: "\n").suffix(3).joined(separator: " | ")
    }

    struct Status: Decodable {
        struct Header: Decodable { var member_id: String? }
        var header: Header?
        var leader: String?
    }

    /// The index of the current leader, asking each live member's `/v3/maintenance/status`.
    func leaderIndex() async throws -> Int? {
        let members = members, security = security
        return try await offPool { try Self.leaderIndex(members, security: security) }
    }

    /// Adds the `root` user and turns authentication on, with etcdctl (the v3 API's own client).
    private func enableAuthentication() async throws {
        var common = ["--endpoints", endpoints.map(\.description).joined(separator: ","), "--dial-timeout", "3s"]
        if let certificates {
            common += ["--cacert", certificates.caFile, "--cert", certificates.clientCertificateFile, "--key", certificates.clientKeyFile]
        }
        for arguments in [["user", "add", "root", "--new-user-password", Guard.password], ["user", "grant-role", "root", "root"], ["auth", "enable"]] {
            let full = common + arguments
            let output = try await offPool {
                try ChildProcess.run(
                    "/usr/bin/etcdctl", arguments: full, environment: ["ETCDCTL_API": "3", "PATH": "/usr/bin:/bin"],
                    timeoutMilliseconds: 15_000)
            }
            guard output.status.isSuccess else {
                throw DatastoreError(.serverError, "etcdctl \(arguments.joined(separator: " ")): \(output.standardErrorText)")
            }
        }
    }

    private static func leaderIndex(_ members: [Member], security: EtcdSecurity) throws -> Int? {
        for (index, member) in members.enumerated() where member.process != nil {
            let store = EtcdDatastore(
                endpoints: [member.endpoint], security: security, requestTimeoutMilliseconds: 1000, operationTimeoutMilliseconds: 500)
            let status = try? store.exchange("/v3/maintenance/status", body: Array("{}".utf8), idempotent: true) {
                try JSONDecoder().decode(Status.self, from: Data($0))
            }
            if let status, let leader = status.leader, leader == status.header?.member_id { return index }
        }
        return nil
    }

    /// SIGKILLs one member and reaps it.
    func kill(member index: Int) async {
        let taken = state.withLock { members in
            defer { members[index].process = nil }
            return members[index].process
        }
        guard let process = taken else { return }
        process.signal(SIGKILL)
        _ = try? await offPool { try process.wait() }
    }
}
