import Datastore
import Foundation
import TestSupport
import Testing

/// The cluster model (pod/node records, their keys and the registry) on the real file store.
@Suite struct ClusterRegistryTests {
    @Test func podRecordKeepsTheDocumentedLayoutAndUnknownFields() throws {
        let json = #"{"addresses":["10.244.1.2"],"containerID":"c1","extra":{"a":[1,2.5,null,true]},"hostInterface":"cali0123456789a","labels":{"app":"web"},"name":"a","namespace":"x","node":"node-0","ports":[{"name":"http","port":80,"protocol":"TCP"}]}"#
        let record = try PodRecord(decoding: Array(json.utf8), key: "/swiftcni/pods/x/a")
        #expect(record.key == "/swiftcni/pods/x/a")
        #expect(record.ports == [PortRecord(name: "http", port: 80, protocol: "TCP")])
        #expect(record.unknownFields["extra"] == .object(["a": .array([.integer(1), .number(2.5), .null, .bool(true)])]))
        #expect(String(decoding: try record.encoded(), as: UTF8.self) == json)
    }

    @Test func nodeRecordTakesItsNameFromTheKey() throws {
        let record = try NodeRecord(decoding: Array(#"{"addresses":["192.168.0.1"],"podCIDRs":["10.1.0.0/24"]}"#.utf8), key: "/swiftcni/nodes/n1")
        #expect(record.name == "n1" && record.addresses == ["192.168.0.1"] && record.podCIDRs == ["10.1.0.0/24"])
        #expect(String(decoding: try NodeRecord(name: "n2", addresses: ["10.0.0.2"], asNumber: 64512, bgpPort: 179).encoded(), as: UTF8.self)
            == #"{"addresses":["10.0.0.2"],"asNumber":64512,"bgpPort":179,"name":"n2"}"#)
    }

    @Test func aCorruptRecordIsAnErrorNamingItsKey() async throws {
        try await withTemporaryDirectory { directory in
            let store = try FileDatastore(directory: directory)
            let registry = ClusterRegistry(store: store)
            try await store.put("/swiftcni/pods/x/broken", string: #"{"namespace":"x","name":7}"#)
            try await store.put("/swiftcni/nodes/bad", string: "not json")
            for attempt in 0..<3 {
                do {
                    switch attempt {
                    case 0: _ = try await registry.pod(namespace: "x", name: "broken")
                    case 1: _ = try await registry.pods()
                    default: _ = try await registry.nodes()
                    }
                    Issue.record("attempt \(attempt) read a corrupt record")
                } catch let error as DatastoreError {
                    #expect(error.code == .malformedRecord)
                    let key = attempt == 2 ? "/swiftcni/nodes/bad" : "/swiftcni/pods/x/broken"
                    #expect(error.key == key && "\(error)".contains(key), "\(error)")
                }
            }
            // merge refuses to overwrite what it cannot read (it would lose another writer's fields).
            await #expect(throws: DatastoreError.self) {
                try await registry.merge(PodRecord(namespace: "x", name: "broken", containerID: "c", addresses: []))
            }
            // DEL still cleans up.
            #expect(try await registry.deletePod(namespace: "x", name: "broken", containerID: "c"))
        }
    }

    @Test func mergeKeepsTheOtherWritersFieldsOfTheSameContainer() async throws {
        try await withTemporaryDirectory { directory in
            let registry = ClusterRegistry(store: try FileDatastore(directory: directory))
            // The plugin's record, with a field this version does not model.
            try await registry.store.put(
                "/swiftcni/pods/x/a",
                string: #"{"addresses":["10.244.1.2"],"containerID":"c1","hostInterface":"cali1","labels":{},"name":"a","namespace":"x","node":"node-0","pluginField":"kept"}"#)
            let lab = PodRecord(
                namespace: "x", name: "a", node: "node-0", containerID: "c1", addresses: ["10.244.1.2"], labels: ["app": "web"],
                ports: [PortRecord(name: "http", port: 80, protocol: "TCP")])
            let merged = try await registry.merge(lab)
            #expect(merged.hostInterface == "cali1" && merged.labels == ["app": "web"] && merged.unknownFields["pluginField"] == .string("kept"))
            #expect(try await registry.pod(namespace: "x", name: "a") == merged)
            // Another container's record is replaced, not merged.
            var next = lab
            next.containerID = "c2"
            let replaced = try await registry.merge(next)
            #expect(replaced.hostInterface == nil && replaced.unknownFields.isEmpty)
            // DEL of the old container leaves the new sandbox's record.
            #expect(try await registry.deletePod(namespace: "x", name: "a", containerID: "c1") == false)
            #expect(try await registry.deletePod(namespace: "x", name: "a", containerID: "c2"))
            #expect(try await registry.pod(namespace: "x", name: "a") == nil)
        }
    }

    @Test func watchByNodeListsThenFollowsChanges() async throws {
        try await withTimeout(.seconds(60), "watchByNodeListsThenFollowsChanges") {
            try await withTemporaryDirectory { directory in
                let store = try FileDatastore(directory: directory, pollIntervalMilliseconds: 20)
                let registry = ClusterRegistry(store: store)
                try await registry.put(PodRecord(namespace: "x", name: "a", node: "n1", addresses: ["10.0.0.1"]))
                try await registry.put(PodRecord(namespace: "x", name: "b", node: "n2", addresses: ["10.0.0.2"]))
                try await registry.put(NodeRecord(name: "n1", addresses: ["192.168.0.1"]))
                #expect(try await registry.pods(onNode: "n1").map(\.name) == ["a"])
                #expect(try await registry.nodes().map(\.name) == ["n1"])
                var events = registry.watchPods(onNode: "n1").makeAsyncIterator()
                #expect(try await events.next() == .put(PodRecord(namespace: "x", name: "a", node: "n1", addresses: ["10.0.0.1"])))
                try await registry.put(PodRecord(namespace: "x", name: "c", node: "n2", addresses: ["10.0.0.3"]))
                try await registry.put(PodRecord(namespace: "x", name: "a", node: "n2", addresses: ["10.0.0.1"]))
                #expect(try await events.next() == .removed(key: "/swiftcni/pods/x/a"))
                try await store.put("/swiftcni/pods/x/z", string: "{")
                guard case .malformed(let error) = try await events.next() else { Issue.record("no malformed event"); return }
                #expect(error.key == "/swiftcni/pods/x/z")
                try await registry.put(PodRecord(namespace: "x", name: "d", node: "n1", addresses: ["10.0.0.4"]))
                #expect(try await events.next() == .put(PodRecord(namespace: "x", name: "d", node: "n1", addresses: ["10.0.0.4"])))
                #expect(try await registry.deletePod(namespace: "x", name: "d", containerID: nil))
                #expect(try await events.next() == .removed(key: "/swiftcni/pods/x/d"))
            }
        }
    }
}
