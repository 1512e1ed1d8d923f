import NetPrimitives

/// The ADD result of CNI 0.1.0 and 0.2.0: at most one `ip4` and one `ip6`, each with its own
/// routes, and `dns`.
public struct CNIResult020: Hashable, Sendable {
    public var cniVersion: CNIVersion
    public var ip4: IPConfiguration?
    public var ip6: IPConfiguration?
    public var dns: DNS

    public init(cniVersion: CNIVersion = .v0_2_0, ip4: IPConfiguration? = nil, ip6: IPConfiguration? = nil, dns: DNS = DNS()) {
        self.cniVersion = cniVersion
        self.ip4 = ip4
        self.ip6 = ip6
        self.dns = dns
    }

    /// `ip4` / `ip6` of a 0.1/0.2 result.
    public struct IPConfiguration: Hashable, Sendable, Codable {
        /// The address with its prefix length (`ip`).
        public var ip: IPNetwork
        public var gateway: IPAddress?
        public var routes: [CNIRoute]

        public init(ip: IPNetwork, gateway: IPAddress? = nil, routes: [CNIRoute] = []) {
            self.ip = ip
            self.gateway = gateway
            self.routes = routes
        }

        enum CodingKeys: String, CodingKey { case ip, gateway, routes }

        public init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: CodingKeys.self)
            ip = try container.decode(IPNetwork.self, forKey: .ip)
            gateway = try container.decodeIfPresent(IPAddress.self, forKey: .gateway)
            routes = try container.decodeIfPresent([CNIRoute].self, forKey: .routes) ?? []
        }

        public func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(ip, forKey: .ip)
            try container.encodeIfPresent(gateway, forKey: .gateway)
            if !routes.isEmpty { try container.encode(routes, forKey: .routes) }
        }
    }
}

extension CNIResult020: Codable {
    enum CodingKeys: String, CodingKey { case cniVersion, ip4, ip6, dns }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        // A 0.1.0 result may omit its version (the reference library assumes 0.1.0).
        cniVersion = try container.decodeIfPresent(CNIVersion.self, forKey: .cniVersion) ?? .v0_1_0
        ip4 = try container.decodeIfPresent(IPConfiguration.self, forKey: .ip4)
        ip6 = try container.decodeIfPresent(IPConfiguration.self, forKey: .ip6)
        dns = try container.decodeIfPresent(DNS.self, forKey: .dns) ?? DNS()
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(cniVersion, forKey: .cniVersion)
        try container.encodeIfPresent(ip4, forKey: .ip4)
        try container.encodeIfPresent(ip6, forKey: .ip6)
        try container.encode(dns, forKey: .dns)
    }
}
