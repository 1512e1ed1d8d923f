import ArgumentParser
import Foundation
import Lab
import Policy

/// `cnilab policy apply|delete|list|explain`: network policies in the lab's Datastore (the
/// agents enforce them) and the Policy evaluator's decision over the lab's pods.
struct PolicyCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "policy", abstract: "Apply, delete, list and explain network policies.",
        subcommands: [Apply.self, Delete.self, List.self, Explain.self])

    struct Apply: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Store the policies of FILE (Kubernetes or Calico, YAML or JSON, several documents; - reads stdin).",
            discussion: "A policy with the namespace/name of a stored one replaces it. A bad document stores nothing.")
        @OptionGroup var options: LabOptions
        @Argument(help: "A YAML or JSON file, or - for standard input.") var file: String

        func run() async throws {
            let text: String
            if file == "-" {
                text = String(decoding: FileHandle.standardInput.readDataToEndOfFile(), as: UTF8.self)
            } else {
                guard let data = FileManager.default.contents(atPath: file) else { throw ValidationError("cannot read \(file)") }
                text = String(decoding: data, as: UTF8.self)
            }
            // Validate before taking the lab's lock: a bad file fails even without a lab.
            _ = try LabPolicy.documents(parsing: text)
            for policy in try await options.open().applyPolicies(text) {
                print("\(policy.kind.rawValue) \(policy.qualifiedName) applied")
            }
        }
    }

    struct Delete: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Delete policy NS/NAME, or a GlobalNetworkPolicy with --global NAME.")
        @OptionGroup var options: LabOptions
        @Argument(help: "NAMESPACE/NAME") var policy: String?
        @Option(name: .customLong("global"), help: "The name of a GlobalNetworkPolicy.") var global: String?

        func validate() throws {
            guard (policy == nil) != (global == nil) else { throw ValidationError("give either NAMESPACE/NAME or --global NAME") }
        }

        func run() async throws {
            let lab = try options.open()
            if let global {
                let deleted = try await lab.deleteGlobalPolicy(name: global)
                print("\(deleted.kind.rawValue) \(deleted.qualifiedName) deleted")
                return
            }
            let parts = (policy ?? "").split(separator: "/", omittingEmptySubsequences: false)
            guard parts.count == 2, !parts[1].isEmpty else {
                throw ValidationError("a policy is named NAMESPACE/NAME (or --global NAME), not '\(policy ?? "")'")
            }
            for deleted in try await lab.deletePolicy(namespace: String(parts[0]), name: String(parts[1])) {
                print("\(deleted.kind.rawValue) \(deleted.qualifiedName) deleted")
            }
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List the stored policies.")
        @OptionGroup var options: LabOptions
        @Flag var json = false

        struct Document: Encodable {
            struct Entry: Encodable {
                var kind: String
                var namespace: String?
                var name: String
                var key: String

                /// `namespace` is `null` for global policies (always present: one shape).
                func encode(to encoder: any Encoder) throws {
                    var container = encoder.container(keyedBy: CodingKeys.self)
                    try container.encode(kind, forKey: .kind)
                    try container.encode(namespace, forKey: .namespace)
                    try container.encode(name, forKey: .name)
                    try container.encode(key, forKey: .key)
                }
                enum CodingKeys: String, CodingKey { case kind, namespace, name, key }
            }
            var policies: [Entry]
        }

        func run() async throws {
            let policies = try await options.open().policies()
            if json {
                try Output.json(
                    Document(policies: policies.map { .init(kind: $0.kind.rawValue, namespace: $0.namespace, name: $0.name, key: $0.key) }))
            } else {
                for policy in policies { print("\(policy.kind.rawValue)\t\(policy.qualifiedName)\t\(policy.key)") }
            }
        }
    }

    struct Explain: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "The policy decision on a connection FROM pod TO pod on PORT/PROTO (e.g. 80/tcp), and the deciding policy and rule.")
        @OptionGroup var options: LabOptions
        @Argument(help: "NAMESPACE/NAME") var from: String
        @Argument(help: "NAMESPACE/NAME") var to: String
        @Argument(help: "PORT/PROTO: 80/tcp, 81/udp …") var port: String
        @Flag var json = false

        struct Document: Encodable {
            var from: String
            var to: String
            var port: Int
            var `protocol`: String
            var decision: LabPolicyExplanation
        }

        func run() async throws {
            let parts = port.split(separator: "/")
            guard parts.count == 2, let number = UInt16(parts[0]), number > 0, let transport = TransportProtocol(name: String(parts[1])),
                transport.hasPorts
            else { throw ValidationError("PORT/PROTO is like 80/tcp or 81/udp, not '\(port)'") }
            let source = try PodReference(parsing: from)
            let destination = try PodReference(parsing: to)
            let result = try await options.open().explainPolicy(from: source, to: destination, port: number, protocol: transport)
            if json {
                try Output.json(
                    Document(from: source.description, to: destination.description, port: Int(number),
                             protocol: transport.description.lowercased(), decision: result))
            } else {
                print("\(source) -> \(destination) \(number)/\(transport.description.lowercased()): \(result.isAllowed ? "ALLOWED" : "DENIED")")
                print("  policy: \(result.decidingPolicy ?? "none")")
                print("  rule:   \(result.decidingRule ?? "none")")
                print("  reason: \(result.reason)")
                for line in result.explanation.description.split(separator: "\n").dropFirst() { print("  \(line.trimmingCharacters(in: .whitespaces))") }
            }
        }
    }
}
