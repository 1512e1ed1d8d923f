// datastore-tool: a small etcdctl-like client for any swift-cni store (`file:DIR` or
// `etcd:URL[,URL…]`). Used by hand to inspect a lab's state, and by the Datastore tests to
// drive a store from several processes at once.
//
//   datastore-tool STORE get KEY
//   datastore-tool STORE list PREFIX
//   datastore-tool STORE put KEY VALUE
//   datastore-tool STORE del KEY
//   datastore-tool STORE increment KEY COUNT   (COUNT compare-and-swap increments of a counter)
//   datastore-tool STORE remove-node NODE      (IPAM's NodeCleanup: every record of a node that
//                                               left; prints what was released as JSON)
import AgentOptions
import ArgumentParser
import Datastore
import Foundation
import IPAM

#if canImport(Glibc)
import Glibc
#endif

@main
struct DatastoreTool: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "datastore-tool", abstract: "An etcdctl-like client for any swift-cni store.")

    enum Command: String, CaseIterable, ExpressibleByArgument {
        case get, list, put, del, increment
        case removeNode = "remove-node"
    }

    @Argument(help: "The store: file:DIR or etcd:URL[,URL…].") var store: String
    @OptionGroup var etcd: EtcdOptions
    @Argument(help: "get, list, put, del, increment or remove-node.") var command: Command
    @Argument(help: "The key (the prefix for list, the node name for remove-node).") var key: String
    @Argument(help: "put: the value; increment: how many compare-and-swap increments.") var value: String?

    func validate() throws {
        guard store.hasPrefix("file:") || store.hasPrefix("etcd:") else { throw ValidationError("STORE must be file:DIR or etcd:URL[,URL…]") }
        switch command {
        case .put: guard value != nil else { throw ValidationError("put needs a VALUE") }
        case .increment:
            guard let value, let count = Int(value), count >= 0 else { throw ValidationError("increment needs a COUNT ≥ 0") }
        case .get, .list, .del, .removeNode: guard value == nil else { throw ValidationError("\(command.rawValue) takes no VALUE") }
        }
    }

    func run() async {
        do {
            let store = try StoreLocation.open(self.store, security: etcd.security)
            switch command {
            case .get:
                guard let item = try await store.get(key) else { Self.fail("\(key): not found") }
                print(item.string)
            case .list:
                for item in try await store.list(prefix: key).items { print("\(item.key)\t\(item.string)") }
            case .put:
                try await store.put(key, string: value ?? "")
            case .del:
                try await store.delete(key)
            case .increment:
                for _ in 0..<(Int(value ?? "") ?? 0) { try await Self.increment(store, key) }
            case .removeNode:
                let report = try await NodeCleanup(store: store).removeNode(key)
                let encoder = JSONEncoder()
                encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
                print(String(decoding: try encoder.encode(report), as: UTF8.self))
            }
        } catch {
            Self.fail("\(error)")
        }
    }

    static func increment(_ store: any Datastore, _ key: String) async throws {
        while true {
            let current = try await store.get(key)
            let next = (current.flatMap { Int($0.string) } ?? 0) + 1
            let condition: Condition = current.map { .modRevision($0.modRevision) } ?? .absent
            if try await store.compareAndSwap(key, expecting: condition, value: Array(String(next).utf8)).succeeded {
                return
            }
        }
    }

    static func fail(_ message: String) -> Never {
        var line = message + "\n"
        line.withUTF8 { _ = write(2, $0.baseAddress, $0.count) }
        Glibc.exit(1)
    }
}
