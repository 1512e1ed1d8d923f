import Datastore
import Foundation
import NetPrimitives
import Policy

/// The policy-relevant part of the Datastore at one revision (pod and node records are the
/// Datastore's cluster model, `Datastore.PodRecord` and `Datastore.NodeRecord`), and its pure mapping to what
/// `PolicyEnforcer` (PolicyEnforcement library) needs: a `PolicySet` and a `ClusterState`.
///
/// ```swift
/// var snapshot = PolicySnapshot(listing.items)
/// snapshot.apply(event)                              // a watch event
/// let endpoints = snapshot.endpoints { _ in nil }    // interface names from the records only
/// ```
public struct PolicySnapshot: Hashable, Sendable {
    /// The Policy library's named port of a record's port; `nil` for an unknown protocol.
    static func namedPort(_ port: PortRecord) -> NamedPort? {
        guard let transport = TransportProtocol(name: port.effectiveProtocol) else { return nil }
        return NamedPort(name: port.name, port: port.port, protocol: transport)
    }

    /// The raw values by key, under the prefixes of ``PolicyStoreKeys``.
    public private(set) var values: [String: [UInt8]] = [:]
    // Decoded once per write (an event then costs one decode, not one per stored key).
    private var policyDocuments: [String: Result<PolicySet, PolicyAgentError>] = [:]
    private var records: [String: Result<PodRecord, PolicyAgentError>] = [:]
    private var labelMaps: [String: Result<[String: String], PolicyAgentError>] = [:]
    private var nodeRecords: [String: Result<NodeRecord, PolicyAgentError>] = [:]

    public init(_ items: [KeyValue] = []) {
        for item in items where PolicyStoreKeys.isRelevant(item.key) { store(item.key, item.value) }
    }

    /// Applies a watch event; returns whether it concerned the snapshot.
    @discardableResult
    public mutating func apply(_ event: WatchEvent) -> Bool {
        let key = event.keyValue.key
        guard PolicyStoreKeys.isRelevant(key) else { return false }
        switch event.kind {
        case .put: store(key, event.keyValue.value)
        case .delete: store(key, nil)
        }
        return true
    }

    private mutating func store(_ key: String, _ value: [UInt8]?) {
        values[key] = value
        policyDocuments[key] = nil
        records[key] = nil
        labelMaps[key] = nil
        nodeRecords[key] = nil
        guard let value else { return }
        if key.hasPrefix(PolicyStoreKeys.policies) {
            do {
                policyDocuments[key] = .success(try PolicySet(parsing: String(decoding: value, as: UTF8.self)))
            } catch {
                policyDocuments[key] = .failure(
                    PolicyAgentError(.malformedRecord, "policy document skipped", key: key, underlying: "\(error)"))
            }
        } else if key.hasPrefix(PolicyStoreKeys.pods) {
            do throws(DatastoreError) {
                records[key] = .success(try PodRecord(decoding: value, key: key))
            } catch {
                records[key] = .failure(PolicyAgentError(.malformedRecord, "pod record skipped", key: key, underlying: error.message))
            }
        } else if key.hasPrefix(PolicyStoreKeys.podLabels) || key.hasPrefix(PolicyStoreKeys.namespaceLabels) {
            do {
                labelMaps[key] = .success(try JSONDecoder().decode([String: String].self, from: Data(value)))
            } catch {
                labelMaps[key] = .failure(PolicyAgentError(.malformedRecord, "label map ignored", key: key, underlying: "\(error)"))
            }
        } else if key.hasPrefix(PolicyStoreKeys.nodes) {
            do throws(DatastoreError) {
                nodeRecords[key] = .success(try NodeRecord(decoding: value, key: key))
            } catch {
                nodeRecords[key] = .failure(PolicyAgentError(.malformedRecord, "node record skipped", key: key, underlying: error.message))
            }
        }
    }

    /// Every stored policy, merged in key order. Documents that do not parse are skipped and
    /// reported in `errors` (one bad document never disables the others).
    public func policies() -> (policies: PolicySet, errors: [PolicyAgentError]) {
        var set = PolicySet()
        var errors: [PolicyAgentError] = []
        for key in policyDocuments.keys.sorted() {
            switch policyDocuments[key]! {
            case .success(let document): set.merge(document)
            case .failure(let error): errors.append(error)
            }
        }
        return (set, errors)
    }

    /// The pod records, in key order; malformed ones are reported in `errors`.
    public func podRecords() -> (records: [PodRecord], errors: [PolicyAgentError]) {
        var result: [PodRecord] = []
        var errors: [PolicyAgentError] = []
        for key in records.keys.sorted() {
            switch records[key]! {
            case .success(let record): result.append(record)
            case .failure(let error): errors.append(error)
            }
        }
        return (result, errors)
    }

    /// A label map stored at `key` (nil when absent or not a JSON object of strings: such a
    /// map is reported by ``cluster(node:localAddresses:interface:)``).
    func labels(at key: String) -> [String: String]? { try? labelMaps[key]?.get() }

    /// The endpoint of one pod record: labels from `/swiftcni/labels/pod/…` (else the record's),
    /// namespace labels from `/swiftcni/labels/namespace/_cluster/…`, the host interface from
    /// the record or, when it has none, from `interface(record)` (the agent asks the kernel).
    /// Nil when the record has no valid address.
    public func endpoint(for record: PodRecord, interface: (PodRecord) -> InterfaceName?) -> Endpoint? {
        let addresses = record.addresses.compactMap { text -> IPAddress? in
            IPAddress(text) ?? IPNetwork(text).map(\.address)
        }
        guard !addresses.isEmpty else { return nil }
        let labels = self.labels(at: PolicyStoreKeys.podLabels(namespace: record.namespace, name: record.name))
            ?? record.labels ?? [:]
        let namespaceLabels = self.labels(at: PolicyStoreKeys.namespaceLabels(record.namespace)) ?? [:]
        let interfaceName = record.hostInterface.flatMap { try? InterfaceName($0) } ?? interface(record)
        return Endpoint(
            namespace: record.namespace, name: record.name, addresses: addresses, interfaceName: interfaceName,
            labels: labels, namespaceLabels: namespaceLabels, namedPorts: (record.ports ?? []).compactMap(Self.namedPort),
            node: record.node ?? "")
    }

    /// Every pod as an endpoint. `interface` is asked only for the pods of `node` whose
    /// record names no host interface; other nodes' pods get none (they are peers only).
    /// Two records claiming one address: the first by key wins, the other is reported.
    public func cluster(
        node: String, localAddresses: [IPAddress] = [], interface: (PodRecord) -> InterfaceName?
    ) -> (cluster: ClusterState, errors: [PolicyAgentError]) {
        var (records, errors) = podRecords()
        records.sort { ($0.namespace, $0.name) < ($1.namespace, $1.name) }
        // An empty state has nothing to collide: it cannot throw.
        var cluster = try! ClusterState()
        for record in records {
            let isLocal = record.node == node
            guard var endpoint = self.endpoint(for: record, interface: { isLocal ? interface($0) : nil }) else { continue }
            if !isLocal { endpoint.interfaceName = nil }
            do { try cluster.insert(endpoint) } catch {
                errors.append(PolicyAgentError(
                    .malformedRecord, "pod \(record.namespace)/\(record.name) skipped", underlying: "\(error)"))
            }
        }
        var nodes: [String: [IPAddress]] = [:]
        for key in nodeRecords.keys.sorted() {
            switch nodeRecords[key]! {
            case .success(let record):
                nodes[record.name, default: []] += record.addresses.compactMap { IPAddress($0) ?? IPNetwork($0).map(\.address) }
            case .failure(let error): errors.append(error)
            }
        }
        for key in labelMaps.keys.sorted() {
            if case .failure(let error) = labelMaps[key]! { errors.append(error) }
        }
        if !localAddresses.isEmpty { nodes[node, default: []] += localAddresses }
        let clusterNodes = nodes.keys.sorted().map { ClusterNode(name: $0, addresses: Array(Set(nodes[$0]!)).sorted { "\($0)" < "\($1)" }) }
        if let withNodes = try? ClusterState(endpoints: cluster.endpoints, nodes: clusterNodes) { cluster = withNodes }
        return (cluster, errors)
    }
}
