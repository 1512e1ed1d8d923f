import CNISpec
import Datastore
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// The pod record at `/swiftcni/pods/<namespace>/<name>` (Documentation/Datastore.md), written
/// after a successful ADD when the configuration names a datastore and a node, so agents and
/// the lab can find each pod's addresses and host interface.
struct PodRecord: Codable, Equatable, Sendable {
    var namespace: String
    var name: String
    var containerID: String
    var interface: String
    var node: String
    var addresses: [String]
    var hostInterface: String
    var labels: [String: String]
}

struct PodRegistry: Sendable {
    var store: any Datastore

    init?(configuration: CalicoNetworkConfiguration) throws(CNIError) {
        guard let datastore = configuration.options.datastore, configuration.options.nodeName != nil else { return nil }
        do { store = try StoreLocation.open(datastore) } catch {
            throw CNIError(.invalidNetworkConfig, "invalid \"datastore\" \(datastore)", details: "\(error)")
        }
    }

    static func key(_ identity: PodIdentity) -> String {
        KeyLayout.pod(namespace: identity.recordNamespace, name: identity.recordName)
    }

    /// The write of `record`, for a transaction that carries it (see
    /// `PodAddressing.allocate(alsoWriting:)`).
    static func write(_ record: PodRecord, identity: PodIdentity) throws -> DatastoreTransaction.Operation {
        .put(key: key(identity), value: Array(try JSONEncoder().encode(record)), lease: nil)
    }

    func register(_ record: PodRecord, identity: PodIdentity) async throws(CNIError) {
        do {
            let bytes = try JSONEncoder().encode(record)
            _ = try await store.put(Self.key(identity), value: Array(bytes))
        } catch {
            throw CNIError(.tryAgainLater, "failed to write the pod record \(Self.key(identity))", details: "\(error)")
        }
    }

    /// Deletes the record when it still belongs to this container (a newer sandbox of the same
    /// pod keeps its own).
    func unregister(identity: PodIdentity) async throws(CNIError) {
        do {
            guard let current = try await store.get(Self.key(identity)) else { return }
            if let record = try? JSONDecoder().decode(PodRecord.self, from: Data(current.value)),
                record.containerID != identity.containerID
            {
                return
            }
            _ = try await store.delete(Self.key(identity))
        } catch {
            throw CNIError(.tryAgainLater, "failed to delete the pod record \(Self.key(identity))", details: "\(error)")
        }
    }

    /// GC: deletes the records of `node`'s pods whose container is not in `validContainerIDs`.
    func garbageCollect(node: String, validContainerIDs: Set<String>) async throws(CNIError) {
        do {
            for item in try await store.list(prefix: KeyLayout.root + "/pods/").items {
                guard let record = try? JSONDecoder().decode(PodRecord.self, from: Data(item.value)),
                    record.node == node, !validContainerIDs.contains(record.containerID)
                else { continue }
                _ = try await store.delete(item.key)
            }
        } catch {
            throw CNIError(.tryAgainLater, "failed to collect stale pod records", details: "\(error)")
        }
    }
}
