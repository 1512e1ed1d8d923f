import NetPrimitives

/// The ADD result of CNI 0.3.0, 0.3.1 and 0.4.0: `interfaces` (name, mac, sandbox), `ips[]`
/// with `version` "4"/"6", `routes`, `dns`.
public struct CNIResult040: Hashable, Sendable {
    public var cniVersion: CNIVersion
    public var interfaces: [Interface]
    public var ips: [IPConfiguration]
    public var routes: [CNIRoute]
    public var dns: DNS

    public init(
        cniVersion: CNIVersion = .v0_4_0, interfaces: [Interface] = [], ips: [IPConfiguration] = [],
        routes: [CNIRoute] = [], dns: DNS = DNS()
    ) {
        self.cniVersion = cniVersion
        self.interfaces = interfaces
        self.ips = ips
        self.routes = routes
        self.dns = dns
    }

    /// `interfaces[]` of a 0.3.x/0.4.0 result.
    public struct Interface: Hashable, Sendable, Codable {
        public var name: String
        public var mac: MACAddress?
        public var sandbox: String?

        public init(name: String, mac: MACAddress? = nil, sandbox: String? = nil) {
            self.name = name
            self.mac = mac
            self.sandbox = sandbox
        }

        enum CodingKeys: String, CodingKey { case name, mac, sandbox }

        public init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: CodingKeys.self)
            name = try container.decode(String.self, forKey: .name)
            mac = try decodeOptionalMAC(container, .mac)
            sandbox = try container.decodeIfPresent(String.self, forKey: .sandbox)
        }

        public func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(name, forKey: .name)
            try container.encodeIfPresent(mac, forKey: .mac)
            try encodeNonEmpty(&container, sandbox, .sandbox)
        }
    }

    /// `ips[]` of a 0.3.x/0.4.0 result; `version` is "4" or "6".
    public struct IPConfiguration: Hashable, Sendable, Codable {
        public var version: String
        public var interface: Int?
        public var address: IPNetwork
        public var gateway: IPAddress?

        public init(version: String? = nil, interface: Int? = nil, address: IPNetwork, gateway: IPAddress? = nil) {
            self.version = version ?? (address.family == .v4 ? "4" : "6")
            self.interface = interface
            self.address = address
            self.gateway = gateway
        }

        enum CodingKeys: String, CodingKey { case version, interface, address, gateway }

        public init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: CodingKeys.self)
            address = try container.decode(IPNetwork.self, forKey: .address)
            interface = try container.decodeIfPresent(Int.self, forKey: .interface)
            gateway = try container.decodeIfPresent(IPAddress.self, forKey: .gateway)
            version = try container.decodeIfPresent(String.self, forKey: .version) ?? ""
        }

        public func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(version, forKey: .version)
            try container.encodeIfPresent(interface, forKey: .interface)
            try container.encode(address, forKey: .address)
            try container.encodeIfPresent(gateway, forKey: .gateway)
        }
    }
}

extension CNIResult040: Codable {
    public init(from decoder: any Decoder) throws {
        let members = try ResultMembers<Interface, IPConfiguration>(from: decoder, defaultVersion: .v0_4_0)
        self.init(cniVersion: members.cniVersion, interfaces: members.interfaces, ips: members.ips, routes: members.routes, dns: members.dns)
    }

    public func encode(to encoder: any Encoder) throws {
        // 0.x results always carry `dns` (possibly `{}`), as the reference library prints them.
        try ResultMembers(cniVersion: cniVersion, interfaces: interfaces, ips: ips, routes: routes, dns: dns).encode(to: encoder, alwaysDNS: true)
    }
}
