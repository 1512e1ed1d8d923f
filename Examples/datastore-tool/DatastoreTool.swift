// datastore-tool: a small etcdctl-like client for any swift-cni store (`file:DIR` or
// `etcd:URL[,URL…]`). Used by hand to inspect a lab's state, and by the Datastore tests to
// drive a store from several processes at once.
//
//   datastore-tool STORE get KEY
//   datastore-tool STORE list PREFIX
//   datastore-tool STORE put KEY VALUE
//   datastore-tool STORE del KEY
//   datastore-tool STORE increment KEY COUNT   (COUNT compare-and-swap increments of a counter)
import Datastore

#if canImport(Glibc)
import Glibc
#endif

@main
struct DatastoreTool {
    static func main() async {
        let arguments = Array(CommandLine.arguments.dropFirst())
        guard arguments.count >= 3 else {
            fail("usage: datastore-tool file:DIR|etcd:URL[,URL…] get|list|put|del|increment KEY [VALUE|COUNT]")
        }
        do {
            let store = try StoreLocation.open(arguments[0])
            let key = arguments[2]
            switch arguments[1] {
            case "get":
                guard let item = try await store.get(key) else { fail("\(key): not found") }
                print(item.string)
            case "list":
                for item in try await store.list(prefix: key).items { print("\(item.key)\t\(item.string)") }
            case "put" where arguments.count == 4:
                try await store.put(key, string: arguments[3])
            case "del":
                try await store.delete(key)
            case "increment" where arguments.count == 4:
                for _ in 0..<(Int(arguments[3]) ?? 0) { try await increment(store, key) }
            default:
                fail("unknown or incomplete command: \(arguments[1])")
            }
        } catch {
            fail("\(error)")
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
        exit(1)
    }
}
