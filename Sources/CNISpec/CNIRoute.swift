import NetPrimitives

/// A route of a result (`routes[]`; in 0.1/0.2 results, `ip4.routes[]` / `ip6.routes[]`).
///
/// `mtu`, `advmss`, `priority`, `table` and `scope` are new in 1.0.0. As in the reference
/// library, they ride along unchanged when a 1.x result is converted to 0.3.x/0.4.0, and are
/// dropped in 0.1/0.2 results.
public struct CNIRoute: Hashable, Sendable, Codable {
    /// The destination (`dst`), in CIDR notation.
    public var destination: IPNetwork
    /// The next hop (`gw`); when absent, the `gateway` of the matching `ips` entry may be used.
    public var gateway: IPAddress?
    public var mtu: Int?
    /// The MSS to advertise (`advmss`).
    public var advertisedMSS: Int?
    /// Lower is preferred.
    public var priority: Int?
    /// The routing table.
    public var table: Int?
    /// The scope: global (0), link (253), host (254).
    public var scope: Int?

    public init(
        destination: IPNetwork, gateway: IPAddress? = nil, mtu: Int? = nil, advertisedMSS: Int? = nil,
        priority: Int? = nil, table: Int? = nil, scope: Int? = nil
    ) {
        self.destination = destination
        self.gateway = gateway
        self.mtu = mtu
        self.advertisedMSS = advertisedMSS
        self.priority = priority
        self.table = table
        self.scope = scope
    }

    /// Only `dst` and `gw`, as a 0.1/0.2 result carries them.
    var destinationAndGatewayOnly: CNIRoute { CNIRoute(destination: destination, gateway: gateway) }

    enum CodingKeys: String, CodingKey {
        case destination = "dst", gateway = "gw", mtu, advertisedMSS = "advmss", priority, table, scope
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        destination = try container.decode(IPNetwork.self, forKey: .destination)
        gateway = try container.decodeIfPresent(IPAddress.self, forKey: .gateway)
        mtu = try container.decodeIfPresent(Int.self, forKey: .mtu)
        advertisedMSS = try container.decodeIfPresent(Int.self, forKey: .advertisedMSS)
        priority = try container.decodeIfPresent(Int.self, forKey: .priority)
        table = try container.decodeIfPresent(Int.self, forKey: .table)
        scope = try container.decodeIfPresent(Int.self, forKey: .scope)
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(destination, forKey: .destination)
        try container.encodeIfPresent(gateway, forKey: .gateway)
        // The reference library omits zero mtu/advmss/priority (Go omitempty).
        if let mtu, mtu != 0 { try container.encode(mtu, forKey: .mtu) }
        if let advertisedMSS, advertisedMSS != 0 { try container.encode(advertisedMSS, forKey: .advertisedMSS) }
        if let priority, priority != 0 { try container.encode(priority, forKey: .priority) }
        try container.encodeIfPresent(table, forKey: .table)
        try container.encodeIfPresent(scope, forKey: .scope)
    }
}
