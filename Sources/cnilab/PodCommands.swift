import ArgumentParser
import ChildProcess
import Foundation
import Lab
import Namespaces

struct PodCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "pod", abstract: "Add, delete, label and list pods.",
        subcommands: [Add.self, Delete.self, Label.self, List.self])

    struct Add: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Add pod NS/NAME on node I; prints its IP.")
        @OptionGroup var options: LabOptions
        @Argument(help: "NAMESPACE/NAME") var pod: String
        @Option var node: Int
        @Option(name: .long, parsing: .singleValue, help: "KEY=VALUE, repeatable.") var label: [String] = []

        func run() async throws {
            let labels = try LabelOption.parse(label, removals: false).compactMapValues { $0 }
            let added = try await options.open().addPod(try PodReference(parsing: pod), node: node, labels: labels)
            print(added.address ?? "")
        }
    }

    struct Delete: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Delete pod NS/NAME (CNI DEL, namespace removed).")
        @OptionGroup var options: LabOptions
        @Argument(help: "NAMESPACE/NAME") var pod: String

        func run() async throws {
            try await options.open().deletePod(try PodReference(parsing: pod))
            print("pod \(pod) deleted")
        }
    }

    struct Label: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Add or overwrite labels (KEY- removes one).")
        @OptionGroup var options: LabOptions
        @Argument(help: "NAMESPACE/NAME") var pod: String
        @Argument(help: "KEY=VALUE or KEY-") var changes: [String]

        func run() async throws {
            let labels = try await options.open().labelPod(try PodReference(parsing: pod), changes)
            print(labels.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: ","))
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List the pods.")
        @OptionGroup var options: LabOptions
        @Flag var json = false

        struct Document: Encodable {
            struct Pod: Encodable {
                var namespace: String
                var name: String
                var node: Int
                var ip: String?
                /// Every address of the pod (IPv4 first).
                var ips: [String]
                var labels: [String: String]
            }
            var pods: [Pod]
        }

        func run() async throws {
            let pods = try await options.open().pods()
            if json {
                try Output.json(
                    Document(pods: pods.map { .init(namespace: $0.namespace, name: $0.name, node: $0.node, ip: $0.address, ips: $0.addresses, labels: $0.labels) }))
            } else {
                for pod in pods {
                    let labels = pod.labels.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: ",")
                    let addresses = pod.addresses.isEmpty ? pod.address ?? "-" : pod.addresses.joined(separator: ",")
                    print("\(pod.qualifiedName)\tnode \(pod.node)\t\(addresses)\t\(labels)")
                }
            }
        }
    }
}

struct NamespaceCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "namespace", abstract: "Label Kubernetes namespaces.", subcommands: [Label.self])

    struct Label: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Add or overwrite labels (KEY- removes); a namespace exists on first use, labelled kubernetes.io/metadata.name=NS.")
        @OptionGroup var options: LabOptions
        @Argument var namespace: String
        @Argument(help: "KEY=VALUE or KEY-") var changes: [String]

        func run() async throws {
            let labels = try await options.open().labelNamespace(namespace, changes)
            print(labels.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: ","))
        }
    }
}

struct Exec: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Run a command inside a pod's namespace: exec NS/NAME -- CMD …")
    @OptionGroup var options: LabOptions
    @Argument(help: "NAMESPACE/NAME") var pod: String
    @Argument(parsing: .postTerminator, help: "The command and its arguments.") var command: [String]

    func run() async throws {
        guard let name = command.first else { throw ValidationError("exec needs a command after --") }
        // The lab's lock is released before the command runs (it may run long).
        let namespaceName = try await { () async throws -> String in
            let lab = try options.open()
            return try await lab.networkNamespace(of: try PodReference(parsing: pod))
        }()
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin"
        guard let executable = name.contains("/") ? name : ChildProcess.find(name, in: path.split(separator: ":").map(String.init))
        else { throw ValidationError("\(name) not found in PATH") }
        let namespace = try NetworkNamespace.open(name: namespaceName)
        let process = try namespace.launchProcess(
            executable, arguments: Array(command.dropFirst()), standardOutput: .inherit, standardError: .inherit)
        let status = try process.wait()
        if case .exited(let code) = status { throw ExitCode(code) }
        throw ExitCode(128)
    }
}

struct Probe: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "TCP connect / UDP echo from every pod to every other pod.")
    @OptionGroup var options: LabOptions
    @Option(help: "Comma-separated ports.") var ports = "80,81"
    @Option(help: "Comma-separated: tcp,udp.") var protocols = "tcp,udp"
    @Option(name: .customLong("timeout-ms")) var timeoutMilliseconds = 300
    @Option(help: "Probe over IPv4 (4) or IPv6 (6) only (default: every family the pods have addresses of).")
    var family: Int?
    @Flag var json = false

    struct Document: Encodable { var results: [ProbeResult] }

    func validate() throws {
        if let family, family != 4, family != 6 { throw ValidationError("--family is 4 or 6, not \(family)") }
    }

    func run() async throws {
        let portList = try ports.split(separator: ",").map { text -> Int in
            guard let port = Int(text) else { throw ValidationError("--ports takes numbers, not '\(text)'") }
            return port
        }
        let protocolList = try protocols.split(separator: ",").map { text -> ProbeProtocol in
            guard let value = ProbeProtocol(rawValue: String(text)) else { throw ValidationError("--protocols takes tcp,udp, not '\(text)'") }
            return value
        }
        let results = try await options.open().probe(
            ProbeOptions(
                ports: portList, protocols: protocolList, timeoutMilliseconds: timeoutMilliseconds,
                families: family.map { [$0 == 6 ? .v6 : .v4] }))
        if json {
            try Output.json(Document(results: results))
        } else {
            ProbeMatrix.print(results)
        }
    }
}

/// The readable form of a probe: one row per source, one column per destination, a cell
/// per destination showing how many of its port/protocol checks connected.
enum ProbeMatrix {
    static func print(_ results: [ProbeResult]) {
        var names: [String] = []
        for result in results {
            if !names.contains(result.from) { names.append(result.from) }
            if !names.contains(result.to) { names.append(result.to) }
        }
        let width = max(9, (names.map(\.count).max() ?? 0) + 2)
        func pad(_ text: String) -> String { text + String(repeating: " ", count: max(0, width - text.count)) }
        Swift.print(pad("from\\to") + names.map(pad).joined())
        for from in names {
            var row = pad(from)
            for to in names {
                let cell = results.filter { $0.from == from && $0.to == to }
                row += pad(cell.isEmpty ? "-" : "\(cell.filter(\.connected).count)/\(cell.count)")
            }
            Swift.print(row)
        }
        let connected = results.filter(\.connected).count
        Swift.print("\(connected)/\(results.count) connected")
        for failure in results where !failure.connected {
            Swift.print("  not connected: \(failure.from) -> \(failure.to) \(failure.protocol.rawValue)/\(failure.port)\(failure.family == .v6 ? " over IPv6" : "")")
        }
    }
}
