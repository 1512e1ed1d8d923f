import ArgumentParser
import Lab

struct NodeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "node", abstract: "Nodes join and leave.", subcommands: [Add.self, Remove.self])

    struct Add: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "A new node joins (the next index).")
        @OptionGroup var options: LabOptions

        func run() async throws {
            let node = try await options.open().addNode()
            print("node \(node.index) \(node.name) \(node.underlayAddress) subnet \(node.subnet ?? "-") agent \(node.agent.rawValue)")
        }
    }

    struct Remove: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "A node leaves: agent stopped, its pods removed, every record of it released from the store (blocks, affinities, leases, pod and node records), its namespace removed.")
        @OptionGroup var target: NodeTarget

        func run() async throws {
            let (lab, index) = try await target.open()
            try await lab.removeNode(index)
            print("node \(index) node-\(index) removed")
        }
    }
}

struct AgentCommandGroup: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "agent", abstract: "Stop, start or kill one node's agent.", subcommands: [Stop.self, Start.self, Kill.self])

    struct Stop: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Graceful stop (SIGTERM, SIGKILL after 5 s).")
        @OptionGroup var target: AgentTarget
        func run() async throws { try await target.run("stopped") { try await $0.stopAgent($1) } }
    }

    struct Start: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Start node I's agent.")
        @OptionGroup var target: AgentTarget
        func run() async throws { try await target.run("started") { try await $0.startAgent($1) } }
    }

    struct Kill: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "SIGKILL node I's agent, as a crash would.")
        @OptionGroup var target: AgentTarget
        func run() async throws { try await target.run("killed") { try await $0.killAgent($1) } }
    }
}
