#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import CNISpec
import Datastore
import NetPrimitives

/// flannel's network configuration, the JSON stored at `<prefix>/config`:
/// `{"Network":"10.244.0.0/16","SubnetLen":24,"SubnetMin":"10.244.1.0","SubnetMax":"10.244.255.0","Backend":{"Type":"vxlan"}}`.
public struct SubnetLeaseConfiguration: Hashable, Sendable, Codable {
    public var Network: IPNetwork
    public var SubnetLen: Int?
    public var SubnetMin: IPAddress?
    public var SubnetMax: IPAddress?
    public var Backend: JSONValue?

    public init(network: IPNetwork, subnetLength: Int? = nil, subnetMin: IPAddress? = nil, subnetMax: IPAddress? = nil, backend: JSONValue? = nil) {
        Network = network
        SubnetLen = subnetLength
        SubnetMin = subnetMin
        SubnetMax = subnetMax
        Backend = backend
    }

    /// The subnet length with flannel's default: /24 for IPv4 networks up to /22 (else the
    /// network's prefix + 2), /64 for IPv6.
    public var subnetLength: Int {
        if let SubnetLen { return SubnetLen }
        if Network.family == .v6 { return max(64, Network.prefixLength + 2) }
        return Network.prefixLength < 24 - 1 ? 24 : Network.prefixLength + 2
    }

    /// Every subnet that may be leased, in order: from SubnetMin (default: the second subnet,
    /// as flannel leaves the first one unused) to SubnetMax (default: the last one).
    public func candidateSubnets() throws -> [IPNetwork] {
        let network = Network.network
        let length = subnetLength
        guard length > network.prefixLength, length <= network.family.bitWidth else {
            throw IPAMError(.invalidConfiguration, "SubnetLen \(length) does not fit network \(network)")
        }
        let count = UInt64(1) << UInt64(min(length - network.prefixLength, 20))
        let all = (0..<count).compactMap { network.subnet(prefixLength: length, index: $0) }
        let minimum = SubnetMin ?? all.dropFirst().first?.address ?? network.address
        let maximum = SubnetMax ?? all.last!.address
        return all.filter { $0.address >= minimum && $0.address <= maximum }
    }
}

/// What a lease holder publishes, flannel's JSON: `{"PublicIP":"…","BackendType":"vxlan","BackendData":{…}}`.
/// `NodeName` is swift-cni's addition (flannel ignores it); it lets a node find its lease again.
public struct SubnetLeaseAttributes: Hashable, Sendable, Codable {
    public var PublicIP: String
    public var BackendType: String?
    public var BackendData: JSONValue?
    public var NodeName: String?

    public init(publicIP: String, backendType: String? = nil, backendData: JSONValue? = nil, nodeName: String? = nil) {
        PublicIP = publicIP
        BackendType = backendType
        BackendData = backendData
        NodeName = nodeName
    }
}

/// One node's lease on a subnet.
public struct SubnetLease: Hashable, Sendable {
    public var subnet: IPNetwork
    public var attributes: SubnetLeaseAttributes
    public var lease: LeaseID?
    public var revision: Int64
}

/// A change to the set of leases.
public enum SubnetLeaseEvent: Hashable, Sendable {
    case added(SubnetLease)
    case removed(IPNetwork)
    /// A lease key or value that does not decode (the error names the key); the watch goes on.
    case malformed(IPAMError)
}

/// Subnet leases in flannel's model: the cluster network is split into subnets of
/// `SubnetLen`; each node leases one in the store, under `<prefix>/subnets/10.244.1.0-24`,
/// with a TTL it renews; a restarted node gets its subnet back; everyone watches the others.
public struct SubnetLeaseManager: Sendable {
    public let store: any Datastore
    public let prefix: String

    public init(store: any Datastore, prefix: String = KeyLayout.flannelDefaultPrefix) {
        self.store = store
        self.prefix = prefix
    }

    /// The stored configuration, or nil when `<prefix>/config` does not exist.
    public func configuration() async throws -> SubnetLeaseConfiguration? {
        guard let value = try await withDatastore("read \(prefix)/config", { try await store.get(KeyLayout.flannelConfig(prefix: prefix)) }) else {
            return nil
        }
        do { return try JSONDecoder().decode(SubnetLeaseConfiguration.self, from: Data(value.value)) } catch {
            throw IPAMError(.invalidConfiguration, "\(KeyLayout.flannelConfig(prefix: prefix)) does not decode", underlying: describeDecoding(error))
        }
    }

    /// Returns the stored configuration, storing `proposed` first when there is none.
    public func ensureConfiguration(_ proposed: SubnetLeaseConfiguration) async throws -> SubnetLeaseConfiguration {
        if let existing = try await configuration() { return existing }
        let bytes = Array(try JSONEncoder().encode(proposed))
        _ = try await withDatastore("create config") { try await store.create(KeyLayout.flannelConfig(prefix: prefix), value: bytes) }
        return try await configuration() ?? proposed
    }

    /// Every current lease.
    public func leases() async throws -> [SubnetLease] {
        let listing = try await withDatastore("list leases") { try await store.list(prefix: KeyLayout.flannelSubnets(prefix: prefix)) }
        return try listing.items.map(Self.lease)
    }

    /// The lease stored at `item`; a key that is not a subnet or a value that does not decode
    /// is `.malformedRecord` naming the key.
    static func lease(_ item: KeyValue) throws(IPAMError) -> SubnetLease {
        guard let subnet = subnet(ofKey: item.key) else {
            throw IPAMError(.malformedRecord, "\(item.key): the key does not name a subnet")
        }
        let attributes = try decodeRecord(SubnetLeaseAttributes.self, item.value, key: item.key)
        return SubnetLease(subnet: subnet, attributes: attributes, lease: item.lease, revision: item.modRevision)
    }

    static func subnet(ofKey key: String) -> IPNetwork? {
        guard let component = key.split(separator: "/").last, let cidr = KeyLayout.cidr(fromKey: String(component)) else { return nil }
        return try? IPNetwork(parsing: cidr)
    }

    /// The lease `node` should hold: its existing one (same NodeName, or same PublicIP for
    /// leases without a name), else `preferred` when free, else the lowest free subnet.
    /// Pure: used by ``acquire(node:attributes:configuration:ttlSeconds:preferred:)``.
    public static func plan(
        node: String, publicIP: String, leases: [SubnetLease], candidates: [IPNetwork], preferred: IPNetwork?
    ) -> (existing: SubnetLease?, subnet: IPNetwork?) {
        if let mine = leases.first(where: { $0.attributes.NodeName == node })
            ?? leases.first(where: { $0.attributes.NodeName == nil && !publicIP.isEmpty && $0.attributes.PublicIP == publicIP })
        {
            return (mine, mine.subnet)
        }
        let taken = Set(leases.map(\.subnet.network))
        if let preferred, candidates.contains(preferred.network), !taken.contains(preferred.network) {
            return (nil, preferred.network)
        }
        return (nil, candidates.first { !taken.contains($0) })
    }

    /// Acquires (or renews) the node's lease with a TTL.
    public func acquire(
        node: String, attributes: SubnetLeaseAttributes, configuration: SubnetLeaseConfiguration,
        ttlSeconds: Int64 = 24 * 3600, preferred: IPNetwork? = nil
    ) async throws -> SubnetLease {
        var attributes = attributes
        attributes.NodeName = node
        let candidates = try configuration.candidateSubnets()
        let value = Array(try JSONEncoder().encode(attributes))
        for _ in 0..<64 {
            let current = try await leases()
            let (existing, subnet) = Self.plan(
                node: node, publicIP: attributes.PublicIP, leases: current, candidates: candidates, preferred: preferred)
            let key = KeyLayout.flannelSubnet(subnet?.description ?? "", prefix: prefix)
            if let existing {
                if let lease = existing.lease, (try? await store.keepAlive(lease)) != nil, existing.attributes == attributes {
                    return existing
                }
                let lease = try await withDatastore("grant lease") { try await store.grantLease(ttlSeconds: ttlSeconds) }
                let swap = try await withDatastore("renew lease") {
                    try await store.compareAndSwap(key, expecting: .modRevision(existing.revision), value: value, lease: lease.id)
                }
                if swap.succeeded {
                    // The key now hangs on the new lease; the old one (if still alive) holds nothing.
                    if let old = existing.lease { try? await store.revokeLease(old) }
                    return SubnetLease(subnet: existing.subnet, attributes: attributes, lease: lease.id, revision: swap.revision)
                }
                try? await store.revokeLease(lease.id)
                continue
            }
            guard let subnet else { throw IPAMError(.exhausted, "no free subnet of /\(configuration.subnetLength) left in \(configuration.Network)") }
            let lease = try await withDatastore("grant lease") { try await store.grantLease(ttlSeconds: ttlSeconds) }
            let swap = try await withDatastore("create lease") {
                try await store.compareAndSwap(key, expecting: .absent, value: value, lease: lease.id)
            }
            if swap.succeeded { return SubnetLease(subnet: subnet, attributes: attributes, lease: lease.id, revision: swap.revision) }
            try? await store.revokeLease(lease.id)
        }
        throw IPAMError(.contention, "could not lease a subnet for \(node) after 64 attempts")
    }

    /// Renews a lease for its TTL; throws `.datastoreFailed` (lease not found) when it expired.
    public func renew(_ lease: SubnetLease) async throws {
        guard let id = lease.lease else { return }
        _ = try await withDatastore("renew lease of \(lease.subnet)") { try await store.keepAlive(id) }
    }

    /// Gives the subnet up.
    public func release(_ lease: SubnetLease) async throws {
        if let id = lease.lease { try? await store.revokeLease(id) }
        _ = try await withDatastore("delete lease") { try await store.delete(KeyLayout.flannelSubnet(lease.subnet.description, prefix: prefix)) }
    }

    /// Lease changes from `revision` on (all nodes, including this one).
    public func watch(fromRevision revision: Int64?) -> AsyncThrowingStream<SubnetLeaseEvent, any Error> {
        let events = store.watch(prefix: KeyLayout.flannelSubnets(prefix: prefix), fromRevision: revision)
        return AsyncThrowingStream { continuation in
            let task = Task {
                do {
                    for try await event in events {
                        switch event.kind {
                        case .put:
                            do throws(IPAMError) {
                                let lease = try Self.lease(event.keyValue)
                                continuation.yield(.added(lease))
                            } catch {
                                continuation.yield(.malformed(error))
                            }
                        case .delete:
                            if let subnet = Self.subnet(ofKey: event.keyValue.key) { continuation.yield(.removed(subnet)) }
                        }
                    }
                    continuation.finish()
                } catch {
                    continuation.finish(throwing: error)
                }
            }
            continuation.onTermination = { _ in task.cancel() }
        }
    }
}
