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
///
/// Dual-stack and IPv6-only use flannel's keys: `EnableIPv6` with `IPv6Network` (and
/// optionally `IPv6SubnetLen`, `IPv6SubnetMin`, `IPv6SubnetMax`), `EnableIPv4: false` for an
/// IPv6-only network. `Network` may then be left out; it decodes as `0.0.0.0/0` and is unused.
public struct SubnetLeaseConfiguration: Hashable, Sendable, Codable {
    public var Network: IPNetwork
    public var SubnetLen: Int?
    public var SubnetMin: IPAddress?
    public var SubnetMax: IPAddress?
    public var Backend: JSONValue?
    /// Whether nodes lease IPv4 subnets of `Network` (flannel's default: true).
    public var EnableIPv4: Bool?
    /// Whether nodes lease IPv6 subnets of `IPv6Network` too (flannel's default: false).
    public var EnableIPv6: Bool?
    public var IPv6Network: IPNetwork?
    public var IPv6SubnetLen: Int?
    public var IPv6SubnetMin: IPAddress?
    public var IPv6SubnetMax: IPAddress?

    public init(network: IPNetwork, subnetLength: Int? = nil, subnetMin: IPAddress? = nil, subnetMax: IPAddress? = nil, backend: JSONValue? = nil) {
        Network = network
        SubnetLen = subnetLength
        SubnetMin = subnetMin
        SubnetMax = subnetMax
        Backend = backend
    }

    enum CodingKeys: String, CodingKey {
        case Network, SubnetLen, SubnetMin, SubnetMax, Backend, EnableIPv4, EnableIPv6, IPv6Network, IPv6SubnetLen, IPv6SubnetMin,
            IPv6SubnetMax
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        EnableIPv4 = try container.decodeIfPresent(Bool.self, forKey: .EnableIPv4)
        EnableIPv6 = try container.decodeIfPresent(Bool.self, forKey: .EnableIPv6)
        if EnableIPv4 == false {
            Network = try container.decodeIfPresent(IPNetwork.self, forKey: .Network) ?? Self.unusedIPv4Network
        } else {
            Network = try container.decode(IPNetwork.self, forKey: .Network)
        }
        SubnetLen = try container.decodeIfPresent(Int.self, forKey: .SubnetLen)
        SubnetMin = try container.decodeIfPresent(IPAddress.self, forKey: .SubnetMin)
        SubnetMax = try container.decodeIfPresent(IPAddress.self, forKey: .SubnetMax)
        Backend = try container.decodeIfPresent(JSONValue.self, forKey: .Backend)
        IPv6Network = try container.decodeIfPresent(IPNetwork.self, forKey: .IPv6Network)
        IPv6SubnetLen = try container.decodeIfPresent(Int.self, forKey: .IPv6SubnetLen)
        IPv6SubnetMin = try container.decodeIfPresent(IPAddress.self, forKey: .IPv6SubnetMin)
        IPv6SubnetMax = try container.decodeIfPresent(IPAddress.self, forKey: .IPv6SubnetMax)
    }

    /// What `Network` decodes as when `EnableIPv4` is false and it is absent.
    static let unusedIPv4Network = try! IPNetwork(parsing: "0.0.0.0/0")

    /// `EnableIPv4`, default true.
    public var ipv4Enabled: Bool { EnableIPv4 ?? true }
    /// `EnableIPv6`, default false.
    public var ipv6Enabled: Bool { EnableIPv6 ?? false }

    /// Checks the families: at least one enabled, `Network` IPv4 when IPv4 is, `IPv6Network`
    /// present and IPv6 when IPv6 is. Errors are `.invalidConfiguration`.
    public func validateFamilies() throws(IPAMError) {
        guard ipv4Enabled || ipv6Enabled else {
            throw IPAMError(.invalidConfiguration, "EnableIPv4 and EnableIPv6 are both false: no network to lease from")
        }
        if ipv4Enabled, Network.family != .v4 { throw IPAMError(.invalidConfiguration, "Network \(Network) is not IPv4") }
        if ipv6Enabled {
            guard let IPv6Network else { throw IPAMError(.invalidConfiguration, "EnableIPv6 is true but IPv6Network is missing") }
            guard IPv6Network.family == .v6 else { throw IPAMError(.invalidConfiguration, "IPv6Network \(IPv6Network) is not IPv6") }
        }
    }

    /// The subnet length with flannel's default: /24 for IPv4 networks up to /22 (else the
    /// network's prefix + 2), /64 for IPv6.
    public var subnetLength: Int {
        if let SubnetLen { return SubnetLen }
        if Network.family == .v6 { return max(64, Network.prefixLength + 2) }
        return Network.prefixLength < 24 - 1 ? 24 : Network.prefixLength + 2
    }

    /// `IPv6SubnetLen` with flannel's default: /64 (the network's prefix + 2 when that is longer).
    public var ipv6SubnetLength: Int { IPv6SubnetLen ?? max(64, (IPv6Network?.prefixLength ?? 62) + 2) }

    /// Every subnet that may be leased, in order: from SubnetMin (default: the second subnet,
    /// as flannel leaves the first one unused) to SubnetMax (default: the last one).
    public func candidateSubnets() throws -> [IPNetwork] {
        try Self.candidates(in: Network, length: subnetLength, minimum: SubnetMin, maximum: SubnetMax, name: "SubnetLen")
    }

    /// The IPv6 subnets that may be leased (empty when IPv6 is not enabled), as
    /// ``candidateSubnets()`` with the `IPv6` keys.
    public func candidateIPv6Subnets() throws -> [IPNetwork] {
        guard ipv6Enabled, let IPv6Network else { return [] }
        return try Self.candidates(
            in: IPv6Network, length: ipv6SubnetLength, minimum: IPv6SubnetMin, maximum: IPv6SubnetMax, name: "IPv6SubnetLen")
    }

    static func candidates(in network: IPNetwork, length: Int, minimum: IPAddress?, maximum: IPAddress?, name: String) throws -> [IPNetwork] {
        let network = network.network
        guard length > network.prefixLength, length <= network.family.bitWidth else {
            throw IPAMError(.invalidConfiguration, "\(name) \(length) does not fit network \(network)")
        }
        let count = UInt64(1) << UInt64(min(length - network.prefixLength, 20))
        let all = (0..<count).compactMap { network.subnet(prefixLength: length, index: $0) }
        let minimum = minimum ?? all.dropFirst().first?.address ?? network.address
        let maximum = maximum ?? all.last!.address
        return all.filter { $0.address >= minimum && $0.address <= maximum }
    }
}

/// What a lease holder publishes, flannel's JSON: `{"PublicIP":"…","BackendType":"vxlan","BackendData":{…}}`.
/// `NodeName` is swift-cni's addition (flannel ignores it); it lets a node find its lease again.
public struct SubnetLeaseAttributes: Hashable, Sendable, Codable {
    public var PublicIP: String
    /// The node's IPv6 underlay address (dual-stack and IPv6-only networks).
    public var PublicIPv6: String?
    public var BackendType: String?
    public var BackendData: JSONValue?
    /// The IPv6 VTEP's data (`{"VNI":1,"VtepMAC":"…"}` of `flannel-v6.1`).
    public var BackendV6Data: JSONValue?
    public var NodeName: String?

    public init(publicIP: String, backendType: String? = nil, backendData: JSONValue? = nil, nodeName: String? = nil) {
        PublicIP = publicIP
        BackendType = backendType
        BackendData = backendData
        NodeName = nodeName
    }
}

/// One node's lease on a subnet (and, dual-stack or IPv6-only, an IPv6 subnet).
///
/// flannel keys a lease by both subnets: `10.244.1.0-24&fd00:10:244:1::-64`; an IPv6-only
/// lease has the IPv4 part `0.0.0.0-0`.
public struct SubnetLease: Hashable, Sendable {
    /// The IPv4 subnet (`0.0.0.0/0` in an IPv6-only network: see ``hasIPv4``).
    public var subnet: IPNetwork
    public var attributes: SubnetLeaseAttributes
    public var lease: LeaseID?
    public var revision: Int64
    /// The IPv6 subnet, when the network has IPv6 enabled.
    public var ipv6Subnet: IPNetwork?

    public init(subnet: IPNetwork, attributes: SubnetLeaseAttributes, lease: LeaseID?, revision: Int64, ipv6Subnet: IPNetwork? = nil) {
        self.subnet = subnet
        self.attributes = attributes
        self.lease = lease
        self.revision = revision
        self.ipv6Subnet = ipv6Subnet
    }

    /// The subnet that names the lease: the IPv4 one, the IPv6 one of an IPv6-only lease.
    public var primarySubnet: IPNetwork { hasIPv4 ? subnet.network : ipv6Subnet?.network ?? subnet.network }

    /// Whether the lease has an IPv4 subnet (not an IPv6-only lease).
    public var hasIPv4: Bool { subnet.prefixLength > 0 }

    /// The last component of the lease's key: `10.244.1.0-24`, `10.244.1.0-24&fd00::-64`.
    public var keyComponent: String { Self.keyComponent(subnet: subnet, ipv6Subnet: ipv6Subnet) }

    /// The key component of a lease on `subnet` (`0.0.0.0/0` for none) and `ipv6Subnet`.
    public static func keyComponent(subnet: IPNetwork, ipv6Subnet: IPNetwork?) -> String {
        let v4 = KeyLayout.cidrKey(subnet.network.description)
        guard let ipv6Subnet else { return v4 }
        return v4 + "&" + KeyLayout.cidrKey(ipv6Subnet.network.description)
    }

    /// The subnets a key component names (nil when it names none).
    static func subnets(ofKeyComponent component: String) -> (IPNetwork, IPNetwork?)? {
        let parts = component.split(separator: "&", omittingEmptySubsequences: false)
        guard (1...2).contains(parts.count), let cidr = KeyLayout.cidr(fromKey: String(parts[0])),
            let v4 = try? IPNetwork(parsing: cidr), v4.family == .v4
        else { return nil }
        guard parts.count == 2 else { return (v4, nil) }
        guard let cidr6 = KeyLayout.cidr(fromKey: String(parts[1])), let v6 = try? IPNetwork(parsing: cidr6), v6.family == .v6 else { return nil }
        return (v4, v6)
    }
}

/// A change to the set of leases.
public enum SubnetLeaseEvent: Hashable, Sendable {
    case added(SubnetLease)
    /// A lease was deleted: its IPv4 subnet, or its IPv6 subnet for an IPv6-only lease.
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
        guard let component = item.key.split(separator: "/").last,
            let (subnet, ipv6Subnet) = SubnetLease.subnets(ofKeyComponent: String(component))
        else {
            throw IPAMError(.malformedRecord, "\(item.key): the key does not name a subnet")
        }
        let attributes = try decodeRecord(SubnetLeaseAttributes.self, item.value, key: item.key)
        return SubnetLease(subnet: subnet, attributes: attributes, lease: item.lease, revision: item.modRevision, ipv6Subnet: ipv6Subnet)
    }

    /// The subnet a lease key names: its IPv4 subnet, or its IPv6 subnet for an IPv6-only lease
    /// (what ``SubnetLeaseEvent/removed(_:)`` carries).
    static func subnet(ofKey key: String) -> IPNetwork? {
        guard let component = key.split(separator: "/").last,
            let (subnet, ipv6Subnet) = SubnetLease.subnets(ofKeyComponent: String(component))
        else { return nil }
        return subnet.prefixLength == 0 ? ipv6Subnet ?? subnet : subnet
    }

    /// The lease `node` should hold: its existing one (same NodeName, or same PublicIP for
    /// leases without a name), else `preferred` when free, else the lowest free subnet.
    /// Pure: used by ``acquire(node:attributes:configuration:ttlSeconds:preferred:preferredIPv6:)``.
    public static func plan(
        node: String, publicIP: String, leases: [SubnetLease], candidates: [IPNetwork], preferred: IPNetwork?
    ) -> (existing: SubnetLease?, subnet: IPNetwork?) {
        if let mine = existingLease(node: node, publicIP: publicIP, leases: leases) { return (mine, mine.subnet) }
        return (nil, freeSubnet(taken: Set(leases.map(\.subnet.network)), candidates: candidates, preferred: preferred))
    }

    static func existingLease(node: String, publicIP: String, leases: [SubnetLease]) -> SubnetLease? {
        leases.first(where: { $0.attributes.NodeName == node })
            ?? leases.first(where: { $0.attributes.NodeName == nil && !publicIP.isEmpty && $0.attributes.PublicIP == publicIP })
    }

    static func freeSubnet(taken: Set<IPNetwork>, candidates: [IPNetwork], preferred: IPNetwork?) -> IPNetwork? {
        if let preferred, candidates.contains(preferred.network), !taken.contains(preferred.network) { return preferred.network }
        return candidates.first { !taken.contains($0) }
    }

    /// The subnets a new lease takes: IPv4 (`0.0.0.0/0` when IPv4 is disabled) and IPv6 (when
    /// enabled); nil when a family has no free subnet left. Pure.
    public static func planSubnets(
        leases: [SubnetLease], configuration: SubnetLeaseConfiguration, preferred: IPNetwork?, preferredIPv6: IPNetwork?
    ) throws -> (subnet: IPNetwork, ipv6Subnet: IPNetwork?)? {
        var subnet = SubnetLeaseConfiguration.unusedIPv4Network
        if configuration.ipv4Enabled {
            let taken = Set(leases.filter(\.hasIPv4).map(\.subnet.network))
            guard let free = freeSubnet(taken: taken, candidates: try configuration.candidateSubnets(), preferred: preferred) else { return nil }
            subnet = free
        }
        guard configuration.ipv6Enabled else { return (subnet, nil) }
        let taken = Set(leases.compactMap { $0.ipv6Subnet?.network })
        guard let free = freeSubnet(taken: taken, candidates: try configuration.candidateIPv6Subnets(), preferred: preferredIPv6) else {
            return nil
        }
        return (subnet, free)
    }

    /// Acquires (or renews) the node's lease with a TTL: an IPv4 subnet, an IPv6 subnet or
    /// both, as the configuration enables them (`preferred`: IPv4, `preferredIPv6`: IPv6).
    public func acquire(
        node: String, attributes: SubnetLeaseAttributes, configuration: SubnetLeaseConfiguration,
        ttlSeconds: Int64 = 24 * 3600, preferred: IPNetwork? = nil, preferredIPv6: IPNetwork? = nil
    ) async throws -> SubnetLease {
        var attributes = attributes
        attributes.NodeName = node
        try configuration.validateFamilies()
        let value = Array(try JSONEncoder().encode(attributes))
        for _ in 0..<64 {
            let current = try await leases()
            if let existing = Self.existingLease(node: node, publicIP: attributes.PublicIP, leases: current) {
                if let lease = existing.lease, (try? await store.keepAlive(lease)) != nil, existing.attributes == attributes {
                    return existing
                }
                let key = KeyLayout.flannelSubnets(prefix: prefix) + existing.keyComponent
                let lease = try await withDatastore("grant lease") { try await store.grantLease(ttlSeconds: ttlSeconds) }
                let swap = try await withDatastore("renew lease") {
                    try await store.compareAndSwap(key, expecting: .modRevision(existing.revision), value: value, lease: lease.id)
                }
                if swap.succeeded {
                    // The key now hangs on the new lease; the old one (if still alive) holds nothing.
                    if let old = existing.lease { try? await store.revokeLease(old) }
                    return SubnetLease(
                        subnet: existing.subnet, attributes: attributes, lease: lease.id, revision: swap.revision, ipv6Subnet: existing.ipv6Subnet)
                }
                try? await store.revokeLease(lease.id)
                continue
            }
            guard
                let (subnet, ipv6Subnet) = try Self.planSubnets(
                    leases: current, configuration: configuration, preferred: preferred, preferredIPv6: preferredIPv6)
            else {
                throw IPAMError(
                    .exhausted,
                    "no free subnet left in \(configuration.ipv4Enabled ? configuration.Network.description : "")"
                        + " \(configuration.IPv6Network?.description ?? "")")
            }
            let key = KeyLayout.flannelSubnets(prefix: prefix) + SubnetLease.keyComponent(subnet: subnet, ipv6Subnet: ipv6Subnet)
            let lease = try await withDatastore("grant lease") { try await store.grantLease(ttlSeconds: ttlSeconds) }
            let swap = try await withDatastore("create lease") {
                try await store.compareAndSwap(key, expecting: .absent, value: value, lease: lease.id)
            }
            if swap.succeeded {
                return SubnetLease(subnet: subnet, attributes: attributes, lease: lease.id, revision: swap.revision, ipv6Subnet: ipv6Subnet)
            }
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
        _ = try await withDatastore("delete lease") { try await store.delete(KeyLayout.flannelSubnets(prefix: prefix) + lease.keyComponent) }
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
