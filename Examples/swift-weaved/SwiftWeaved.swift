import ArgumentParser
import Mesh

@main
struct SwiftWeaved: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "swift-weaved",
        abstract: "The swift-cni Weave-like agent. Today: the commands that need the Mesh library only.",
        discussion: """
            The agent itself (joining the mesh, the data path, ring IPAM, status) comes with \
            issue 15; see README.md.
            """,
        subcommands: [GenerateSecret.self])

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
}
