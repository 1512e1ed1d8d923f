import NetPrimitives

/// The ADD result of CNI 1.0.0 and 1.1.0, the SDK's working model of a result.
///
/// Plugins build and return this type; ``PluginMain`` converts it to the version the runtime
/// asked for (see ``AnyCNIResult``). Delegated (IPAM) results leave `interfaces` empty and
/// `ips[].interface` unset.
public struct CNIResult: Hashable, Sendable {
    public var cniVersion: CNIVersion
    public var interfaces: [Interface]
    public var ips: [IPConfiguration]
    public var routes: [CNIRoute]
    public var dns: DNS

    public init(
        cniVersion: CNIVersion = .latest, interfaces: [Interface] = [], ips: [IPConfiguration] = [],
        routes: [CNIRoute] = [], dns: DNS = DNS()
    ) {
        self.cniVersion = cniVersion
        self.interfaces = interfaces
        self.ips = ips
        self.routes = routes
        self.dns = dns
    }

    /// An interface created by the attachment (`interfaces[]`).
    public struct Interface: Hashable, Sendable, Codable {
        public var name: String
        public var mac: MACAddress?
        public var mtu: Int?
        /// The container's netns path for interfaces inside it; nil on the host.
        public var sandbox: String?
        public var socketPath: String?
        /// The PCI device identifier (`pciID`).
        public var pciID: String?

        public init(
            name: String, mac: MACAddress? = nil, mtu: Int? = nil, sandbox: String? = nil,
            socketPath: String? = nil, pciID: String? = nil
        ) {
            self.name = name
            self.mac = mac
            self.mtu = mtu
            self.sandbox = sandbox
            self.socketPath = socketPath
            self.pciID = pciID
        }

        enum CodingKeys: String, CodingKey { case name, mac, mtu, sandbox, socketPath, pciID }

        public init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: CodingKeys.self)
            name = try container.decode(String.self, forKey: .name)
            mac = try decodeOptionalMAC(container, .mac)
            mtu = try container.decodeIfPresent(Int.self, forKey: .mtu)
            sandbox = try container.decodeIfPresent(String.self, forKey: .sandbox)
            socketPath = try container.decodeIfPresent(String.self, forKey: .socketPath)
            pciID = try container.decodeIfPresent(String.self, forKey: .pciID)
        }

        public func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(name, forKey: .name)
            try container.encodeIfPresent(mac, forKey: .mac)
            if let mtu, mtu != 0 { try container.encode(mtu, forKey: .mtu) }
            try encodeNonEmpty(&container, sandbox, .sandbox)
            try encodeNonEmpty(&container, socketPath, .socketPath)
            try encodeNonEmpty(&container, pciID, .pciID)
        }
    }

    /// An address assigned by the attachment (`ips[]`).
    public struct IPConfiguration: Hashable, Sendable, Codable {
        /// The address with its prefix length ("10.1.0.5/16").
        public var address: IPNetwork
        public var gateway: IPAddress?
        /// Index into ``CNIResult/interfaces``.
        public var interface: Int?

        public init(address: IPNetwork, gateway: IPAddress? = nil, interface: Int? = nil) {
            self.address = address
            self.gateway = gateway
            self.interface = interface
        }

        enum CodingKeys: String, CodingKey { case address, gateway, interface }

        public func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encodeIfPresent(interface, forKey: .interface)
            try container.encode(address, forKey: .address)
            try container.encodeIfPresent(gateway, forKey: .gateway)
        }
    }
}

extension CNIResult: Codable {
    public init(from decoder: any Decoder) throws {
        let members = try ResultMembers<Interface, IPConfiguration>(from: decoder, defaultVersion: .latest)
        self.init(cniVersion: members.cniVersion, interfaces: members.interfaces, ips: members.ips, routes: members.routes, dns: members.dns)
    }

    public func encode(to encoder: any Encoder) throws {
        // 1.x results omit an empty `dns`, as the reference library does.
        try ResultMembers(cniVersion: cniVersion, interfaces: interfaces, ips: ips, routes: routes, dns: dns).encode(to: encoder, alwaysDNS: false)
    }
}

func decodeOptionalMAC<K: CodingKey>(_ container: KeyedDecodingContainer<K>, _ key: K) throws -> MACAddress? {
    guard let text = try container.decodeIfPresent(String.self, forKey: key), !text.isEmpty else { return nil }
    do {
        return try MACAddress(parsing: text)
    } catch {
        throw DecodingError.dataCorruptedError(forKey: key, in: container, debugDescription: "invalid MAC \"\(text)\"")
    }
}

func encodeNonEmpty<K: CodingKey>(_ container: inout KeyedEncodingContainer<K>, _ value: String?, _ key: K) throws {
    if let value, !value.isEmpty { try container.encode(value, forKey: key) }
}
