import Foundation
import Lab
import LabProfiles
import Mesh
import Testing
import TestSupport
import Weave
@testable import swift_weaved

/// A weave lab with a mesh secret (`cnilab up --plugin weave --secret-file F`): the agents'
/// connections are encrypted; an agent restarted with a different secret never joins, and its
/// status says why (the secrets differ); with the right secret again it joins.
@Suite(.serialized) struct WeaveSecretLabTests {
    static func status(_ socket: String) throws -> AgentStatus {
        let text = try WeaveAgentClient(socketPath: socket, timeoutSeconds: 5).perform(WeaveAgentRequest(operation: .status)).text ?? ""
        return try JSONDecoder().decode(AgentStatus.self, from: Data(text.utf8))
    }

    static func writeSecret(_ path: String) throws {
        try? FileManager.default.removeItem(atPath: path)
        _ = try MeshSecret.generateFile(atPath: path)
    }

    @Test(.privileged) func encryptedMeshAndWrongSecret() async throws {
        let root = try TestDirectories.temporary(prefix: "cnilab-weave-secret")
        let name = "ws\(UInt32.random(in: 0...UInt32.max) % 1_000_000_000)"
        let directory = root + "/lab"
        defer {
            _ = try? Lab.down(name: name, stateDirectory: directory)
            TestDirectories.remove(root)
        }
        let secretFile = root + "/secret"
        try Self.writeSecret(secretFile)
        let original = try String(contentsOfFile: secretFile, encoding: .utf8)
        let lab = try await Lab.up(
            LabConfiguration(name: name, stateDirectory: directory, profile: .weave(secretFile: secretFile), nodeCount: 2))
        let socket0 = directory + "/nodes/0/weave.sock", socket1 = directory + "/nodes/1/weave.sock"
        let joined = try Self.status(socket0).mesh.node.connections.filter { $0.state == .established }
        #expect(!joined.isEmpty && joined.allSatisfy(\.encrypted), "\(joined)")

        // Node 1 comes back with another secret: refused, and it says why.
        try await lab.stopAgent(1)
        try Self.writeSecret(secretFile)
        try await lab.startAgent(1)
        try await WeaveLabTests.waitUntilReady(socket1)  // its ring state is on disk: ready alone
        let refused = try await eventually(within: 15) {
            try Self.status(socket1).mesh.node.recentRefusals.contains { $0.reason.kind == .secretMismatch }
        }
        let refusals = try Self.status(socket1).mesh.node.recentRefusals
        #expect(refused, "\(refusals)")
        #expect(try Self.status(socket1).mesh.node.connections.allSatisfy { $0.state != .established })

        // The right secret again: it joins.
        try await lab.stopAgent(1)
        try? FileManager.default.removeItem(atPath: secretFile)
        FileManager.default.createFile(atPath: secretFile, contents: Data(original.utf8), attributes: [.posixPermissions: 0o600])
        try await lab.startAgent(1)
        try await WeaveLabTests.waitUntilReady(socket1)
        let rejoined = try await eventually(within: 15) {
            try Self.status(socket1).mesh.node.connections.contains { $0.state == .established && $0.encrypted }
        }
        #expect(rejoined)
        try await lab.down()
    }
}
