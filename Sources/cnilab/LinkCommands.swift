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
        @OptionGroup var target: LinkTarget
        func run() async throws { try await target.run("blocked") { try await $0.blockLink($1, $2, udpPort: $3) } }
    }

    struct Unblock: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Let traffic between nodes A and B through again.")
        @OptionGroup var target: LinkTarget
        func run() async throws { try await target.run("unblocked") { try await $0.unblockLink($1, $2, udpPort: $3) } }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "The blocked links.")
        @OptionGroup var options: LabOptions
        func run() async throws {
            for link in try await options.open().blockedLinks() { print("\(link.first) \(link.second)") }
        }
    }
}
