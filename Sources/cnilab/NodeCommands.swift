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
        @OptionGroup var options: LabOptions
        @Argument(help: "The node: its name (node-3) or its index (3).") var node: String

        func run() async throws {
            let lab = try await options.open()
            let index = try await lab.nodeIndex(node)
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
        @OptionGroup var options: LabOptions
        @Argument var index: Int
        func run() async throws {
            try await options.open().stopAgent(index)
            print("agent \(index) stopped")
        }
    }

    struct Start: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Start node I's agent.")
        @OptionGroup var options: LabOptions
        @Argument var index: Int
        func run() async throws {
            try await options.open().startAgent(index)
            print("agent \(index) started")
        }
    }

    struct Kill: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "SIGKILL node I's agent, as a crash would.")
        @OptionGroup var options: LabOptions
        @Argument var index: Int
        func run() async throws {
            try await options.open().killAgent(index)
            print("agent \(index) killed")
        }
    }
}
