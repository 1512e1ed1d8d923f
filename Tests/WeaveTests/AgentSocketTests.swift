#if canImport(Glibc)
import Glibc
#endif
import Foundation
import Testing
import TestSupport
import Weave
@testable import swift_weaved

/// The agent's local socket: a request and its answer, a refusal, a malformed request answered
/// with an error (the server keeps serving), and an agent that is not there.
struct AgentSocketTests {
    /// Runs a blocking client call on a thread of its own: the server's handler needs the
    /// concurrency pool, which other tests of a parallel run may keep busy.
    static func offPool<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            Thread { continuation.resume(with: Result { try body() }) }.start()
        }
    }

    @Test func requestAndAnswer() async throws {
        let directory = try TestDirectories.temporary(prefix: "weave-socket")
        defer { TestDirectories.remove(directory) }
        let path = directory + "/run/weave.sock"
        let server = AgentSocketServer(path: path) { request in
            switch request.operation {
            case .allocate: WeaveAgentResponse(address: "10.32.0.5/12", gateway: "10.32.0.1", mtu: 1450)
            default: .failure("no \(request.operation.rawValue) here")
            }
        }
        try server.start()
        defer { server.stop() }
        let client = WeaveAgentClient(socketPath: path, timeoutSeconds: 5)
        let answer = try await Self.offPool { try client.perform(WeaveAgentRequest(operation: .allocate, containerID: "c1")) }
        #expect(answer == WeaveAgentResponse(address: "10.32.0.5/12", gateway: "10.32.0.1", mtu: 1450))

        let refusal = try await Self.offPool { () -> WeaveError? in
            do throws(WeaveError) { _ = try client.perform(WeaveAgentRequest(operation: .ping)); return nil } catch { return error }
        }
        #expect(refusal?.code == .refused && refusal?.message == "no ping here")

        // Garbage instead of JSON: an error answer, and the server still serves.
        let raw = try UnixSocket.connect(path)
        try UnixSocket.writeMessage(raw, Array("{not json".utf8), what: "garbage")
        let reply = try UnixSocket.readMessage(raw, limit: 1 << 16, what: "reply")
        close(raw)
        #expect(String(decoding: reply, as: UTF8.self).contains("\"error\""))
        let again = try await Self.offPool { try client.perform(WeaveAgentRequest(operation: .allocate, containerID: "c2")) }
        #expect(again.address == "10.32.0.5/12")
    }

    @Test func absentAgentIsUnavailable() throws {
        let client = WeaveAgentClient(socketPath: "/tmp/swcni-no-such-weave-\(getpid()).sock", timeoutSeconds: 1)
        let error = #expect(throws: WeaveError.self) { try client.perform(WeaveAgentRequest(operation: .ping)) }
        #expect(error?.code == .agentUnavailable)
    }

    @Test func staleSocketFileIsReplaced() async throws {
        let directory = try TestDirectories.temporary(prefix: "weave-socket")
        defer { TestDirectories.remove(directory) }
        let path = directory + "/weave.sock"
        let first = AgentSocketServer(path: path) { _ in WeaveAgentResponse(text: "first") }
        try first.start()
        // A second agent on a live socket is refused.
        #expect(throws: WeaveError.self) { try AgentSocketServer(path: path) { _ in WeaveAgentResponse() }.start() }
        first.stop()
        FileManager.default.createFile(atPath: path, contents: nil)  // left behind by a killed agent
        let second = AgentSocketServer(path: path) { _ in WeaveAgentResponse(text: "second") }
        try second.start()
        defer { second.stop() }
        let answer = try await Self.offPool { try WeaveAgentClient(socketPath: path, timeoutSeconds: 5).perform(WeaveAgentRequest(operation: .status)) }
        #expect(answer.text == "second")
    }

    @Test func peerNamesAreStablePerNode() {
        #expect(PeerNaming.name(node: "node-1") == PeerNaming.name(node: "node-1"))
        #expect(PeerNaming.name(node: "node-1") != PeerNaming.name(node: "node-2"))
        #expect(PeerNaming.name(node: "node-1").bytes[0] & 0x03 == 0x02)
    }

    @Test func agentOptions() throws {
        let run = try SwiftWeaved.Run.parse(["--node", "n1", "--peer", "192.168.77.10", "--peer", "192.168.77.11:7000"])
        #expect(try run.parsedPeers().map(\.description) == ["192.168.77.10:6783", "192.168.77.11:7000"])
        #expect(try run.parsedInit() == (3, false))
        #expect(try SwiftWeaved.Run.parse(["--node", "n", "--ipalloc-init", "observer"]).parsedInit() == (1, true))
        #expect(throws: (any Error).self) { try SwiftWeaved.Run.parse(["--node", "n", "--ipalloc-init", "consensus=0"]) }
        #expect(throws: (any Error).self) { try SwiftWeaved.Run.parse(["--node", "n", "--trusted-subnets", "10.0.0.0/8,nope"]) }
    }
}
