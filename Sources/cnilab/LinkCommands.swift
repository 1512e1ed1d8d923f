import ArgumentParser
import Lab

/// `cnilab link block|unblock|list`: cut and restore the underlay between two nodes (inside
/// the fabric, for every plugin).
struct LinkCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "link", abstract: "Block or unblock underlay traffic between two nodes (inside the fabric).",
        subcommands: [Block.self, Unblock.self, List.self])

    struct Block: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Drop every packet between nodes A and B (both directions).")
        @OptionGroup var options: LabOptions
        @Argument var first: Int
        @Argument var second: Int
        @Option(help: "Only UDP to this port (e.g. 6784, weave's fast path).")
        var udpPort: UInt16?
        func run() async throws {
            try await options.open().blockLink(first, second, udpPort: udpPort)
            print("link \(first) \(second)\(udpPort.map { " udp/\($0)" } ?? "") blocked")
        }
    }

    struct Unblock: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Let traffic between nodes A and B through again.")
        @OptionGroup var options: LabOptions
        @Argument var first: Int
        @Argument var second: Int
        @Option(help: "Only UDP to this port (e.g. 6784, weave's fast path).")
        var udpPort: UInt16?
        func run() async throws {
            try await options.open().unblockLink(first, second, udpPort: udpPort)
            print("link \(first) \(second)\(udpPort.map { " udp/\($0)" } ?? "") unblocked")
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "The blocked links.")
        @OptionGroup var options: LabOptions
        func run() async throws {
            for link in try await options.open().blockedLinks() { print("\(link.first) \(link.second)") }
        }
    }
}
