/// The members of a result since CNI 0.3.0 (`cniVersion`, `interfaces`, `ips`, `routes`,
/// `dns`), read and written alike by `CNIResult` and `CNIResult040`: absent lists read as
/// empty and empty lists are left out; only an empty `dns` is written differently by version.
struct ResultMembers<Interface: Codable, IPConfiguration: Codable> {
    var cniVersion: CNIVersion
    var interfaces: [Interface]
    var ips: [IPConfiguration]
    var routes: [CNIRoute]
    var dns: DNS

    enum CodingKeys: String, CodingKey { case cniVersion, interfaces, ips, routes, dns }

    init(cniVersion: CNIVersion, interfaces: [Interface], ips: [IPConfiguration], routes: [CNIRoute], dns: DNS) {
        self.cniVersion = cniVersion
        self.interfaces = interfaces
        self.ips = ips
        self.routes = routes
        self.dns = dns
    }

    /// A result without `cniVersion` is `defaultVersion`.
    init(from decoder: any Decoder, defaultVersion: CNIVersion) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        cniVersion = try container.decodeIfPresent(CNIVersion.self, forKey: .cniVersion) ?? defaultVersion
        interfaces = try container.decodeIfPresent([Interface].self, forKey: .interfaces) ?? []
        ips = try container.decodeIfPresent([IPConfiguration].self, forKey: .ips) ?? []
        routes = try container.decodeIfPresent([CNIRoute].self, forKey: .routes) ?? []
        dns = try container.decodeIfPresent(DNS.self, forKey: .dns) ?? DNS()
    }

    /// `alwaysDNS`: write `dns` even when empty (`{}`).
    func encode(to encoder: any Encoder, alwaysDNS: Bool) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(cniVersion, forKey: .cniVersion)
        if !interfaces.isEmpty { try container.encode(interfaces, forKey: .interfaces) }
        if !ips.isEmpty { try container.encode(ips, forKey: .ips) }
        if !routes.isEmpty { try container.encode(routes, forKey: .routes) }
        if alwaysDNS || !dns.isEmpty { try container.encode(dns, forKey: .dns) }
    }
}
