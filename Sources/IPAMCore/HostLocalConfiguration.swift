import CNISpec
import NetPrimitives

/// One address range inside a subnet, as host-local's `ranges` entries spell it.
public struct HostLocalRange: Hashable, Sendable, Codable {
    public var subnet: IPNetwork
    public var rangeStart: IPAddress?
    public var rangeEnd: IPAddress?
    public var gateway: IPAddress?

    public init(subnet: IPNetwork, rangeStart: IPAddress? = nil, rangeEnd: IPAddress? = nil, gateway: IPAddress? = nil) {
        self.subnet = subnet
        self.rangeStart = rangeStart
        self.rangeEnd = rangeEnd
        self.gateway = gateway
    }

    /// Fills in defaults exactly as host-local does: gateway and start `.1` (network + 1), end
    /// the last address (IPv4: the one before broadcast). Rejects /31, /32, /127, /128, and
    /// start/end/gateway outside the subnet.
    public func canonicalized() throws -> CanonicalRange {
        let network = subnet.network
        let width = network.family.bitWidth
        guard network.prefixLength <= width - 2 else {
            throw IPAMError(.invalidConfiguration, "network \(subnet) too small to allocate from")
        }
        let first = network.address.advanced(by: 1)!
        var last = network.lastAddress
        if network.family == .v4 { last = last.advanced(by: -1)! }
        func inside(_ address: IPAddress, _ what: String) throws {
            guard address.family == network.family, network.contains(address) else {
                throw IPAMError(.invalidConfiguration, "\(what) \(address) not in network \(network)")
            }
        }
        let gateway = self.gateway ?? first
        try inside(gateway, "gateway")
        let start = rangeStart ?? first
        try inside(start, "rangeStart")
        let end = rangeEnd ?? last
        try inside(end, "rangeEnd")
        guard start <= end else { throw IPAMError(.invalidConfiguration, "rangeStart \(start) after rangeEnd \(end)") }
        return CanonicalRange(subnet: network, start: start, end: end, gateway: gateway)
    }
}

/// A range with every default filled in.
public struct CanonicalRange: Hashable, Sendable {
    public var subnet: IPNetwork
    public var start: IPAddress
    public var end: IPAddress
    public var gateway: IPAddress

    public func contains(_ address: IPAddress) -> Bool {
        address.family == subnet.family && start <= address && address <= end
    }

    func overlaps(_ other: CanonicalRange) -> Bool {
        contains(other.start) || contains(other.end) || other.contains(start) || other.contains(end)
    }
}

/// The former name of CNISpec's `CNIRoute` (`dst`, optional `gw`), the one route type of
/// configurations, results and host-local's `routes` key.
@available(*, deprecated, renamed: "CNIRoute", message: "IPAM and CNISpec share one route type: use CNIRoute")
public typealias RouteSpecification = CNIRoute

/// host-local's IPAM configuration, key for key: `ranges` (a list of range sets; each set is a
/// list of ranges tried in order), the legacy single-range keys (`subnet`, `rangeStart`,
/// `rangeEnd`, `gateway`), `routes`, `dataDir` and `resolvConf`.
public struct HostLocalConfiguration: Hashable, Sendable, Codable {
    public var ranges: [[HostLocalRange]]?
    public var subnet: IPNetwork?
    public var rangeStart: IPAddress?
    public var rangeEnd: IPAddress?
    public var gateway: IPAddress?
    public var routes: [CNIRoute]?
    public var dataDir: String?
    public var resolvConf: String?

    public static let defaultDataDirectory = "/var/lib/cni/networks"

    public init(
        ranges: [[HostLocalRange]]? = nil, routes: [CNIRoute]? = nil, dataDir: String? = nil,
        resolvConf: String? = nil
    ) {
        self.ranges = ranges
        self.routes = routes
        self.dataDir = dataDir
        self.resolvConf = resolvConf
    }

    /// The range sets with defaults applied; the legacy `subnet` keys become the first set.
    /// Ranges inside a set must share a family and not overlap; no two sets may overlap.
    public func canonicalRangeSets() throws -> [[CanonicalRange]] {
        var sets: [[HostLocalRange]] = []
        if let subnet {
            sets.append([HostLocalRange(subnet: subnet, rangeStart: rangeStart, rangeEnd: rangeEnd, gateway: gateway)])
        }
        sets += ranges ?? []
        guard !sets.isEmpty else { throw IPAMError(.invalidConfiguration, "no IP ranges specified") }
        let canonical = try sets.map { set in
            guard !set.isEmpty else { throw IPAMError(.invalidConfiguration, "empty range set") }
            return try set.map { try $0.canonicalized() }
        }
        var all: [CanonicalRange] = []
        for set in canonical {
            guard Set(set.map(\.subnet.family)).count == 1 else {
                throw IPAMError(.invalidConfiguration, "mixed address families in one range set")
            }
            for range in set {
                if let clash = all.first(where: { $0.overlaps(range) }) {
                    throw IPAMError(.invalidConfiguration, "range \(range.subnet) overlaps \(clash.subnet)")
                }
                all.append(range)
            }
        }
        return canonical
    }
}
