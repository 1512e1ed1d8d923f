import ArgumentParser
import Foundation
import Mesh
import Weave

@main
struct SwiftWeaved: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "swift-weaved",
        abstract: "The swift-cni Weave-like agent: mesh, fast path, ring IPAM and network policy on one node.",
        discussion: "Without a subcommand it runs the agent (see `swift-weaved run --help`); see README.md.",
        subcommands: [Run.self, Status.self, RemovePeer.self, GenerateSecret.self],
        defaultSubcommand: Run.self)

    struct GenerateSecret: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "generate-secret",
            abstract: "Generate a random 256-bit mesh secret: the recommended secret (a password is weaker).",
            discussion: """
                Writes the key as 64 hex digits plus a newline to a new file with mode 0600 and \
                refuses to overwrite an existing file. Without --output, prints the key to stdout \
                (redirect it into a file only you can read). Give the same file to every peer.
                """)

        @Option(help: "Write the key to this new file (mode 0600) instead of stdout.")
        var output: String?

        func run() throws {
            if let output {
                try MeshSecret.generateFile(atPath: output)
            } else {
                print(MeshSecret.generate().hexEncoded)
            }
        }
    }

    struct Status: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Print the running agent's status: peers, connections, routes, ring ownership, fast path.")

        @Option(help: "The agent's local socket.")
        var socket = WeaveNames.defaultSocketPath

        @Flag(help: "The whole status document as JSON.")
        var json = false

        func run() throws {
            let text = try WeaveAgentClient(socketPath: socket, timeoutSeconds: 10)
                .perform(WeaveAgentRequest(operation: .status)).text ?? "{}"
            if json {
                print(text)
                return
            }
            let status = try JSONDecoder().decode(AgentStatus.self, from: Data(text.utf8))
            print(status.summary)
        }
    }

    struct RemovePeer: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "rmpeer",
            abstract: "Reclaim the address space of a dead peer (agreed by a quorum of the ring's owners).")

        @Argument(help: "The dead peer's nickname (node name) or peer name.")
        var peer: String

        @Option(help: "The agent's local socket.")
        var socket = WeaveNames.defaultSocketPath

        func run() throws {
            let answer = try WeaveAgentClient(socketPath: socket, timeoutSeconds: 40)
                .perform(WeaveAgentRequest(operation: .removePeer, peer: peer))
            print(answer.text ?? "done")
        }
    }
}

extension AgentStatus {
    /// The human-readable `status`.
    var summary: String {
        var lines = [
            "node \(node) (peer \(peer)), range \(range), bridge \(gateway ?? "no address yet"), MTU \(mtu)",
            "data encryption: \(dataEncrypted ? "on (untrusted pairs over the sealed sleeve)" : "off")",
            "fast path \(fastPath.device) udp/\(fastPath.port): \(fastPath.remotes.count) peers \(fastPath.remotes.joined(separator: " "))",
            "sleeve \(sleeve.device) udp/\(sleeve.port): \(sleeve.peers.count) peers \(sleeve.peers.joined(separator: " "))",
            "paths:",
        ]
        for path in paths {
            lines.append("  \(path.peer) \(path.path.rawValue) via \(path.via) (\(path.hops) hops)\(path.encrypted ? " encrypted" : "")")
        }
        lines += [
            "connections:",
        ]
        for connection in mesh.node.connections {
            lines.append("  \(connection.address) \(connection.state.rawValue) \(connection.peer.map { "\($0)" } ?? "?") encrypted=\(connection.encrypted)")
        }
        for refusal in mesh.node.recentRefusals.suffix(5) {
            lines.append("  refused \(refusal.address): \(refusal.reason)")
        }
        lines.append("routes:")
        for route in mesh.topology.routes {
            lines.append("  \(route.destination) via \(route.nextHop) (\(route.hops) hops)")
        }
        lines.append("ring: initialised=\(ring.initialised), allocations \(ring.allocations)")
        for space in ring.peers {
            lines.append("  \(space.peer): owns \(space.owned), free \(space.free)")
        }
        return lines.joined(separator: "\n")
    }
}
