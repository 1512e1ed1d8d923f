/// DNS settings of a network configuration or a result (`dns`).
public struct DNS: Hashable, Sendable, Codable {
    /// Priority-ordered name servers (IPv4 or IPv6 addresses as strings).
    public var nameservers: [String]
    /// The local domain for short host names.
    public var domain: String?
    /// Priority-ordered search domains.
    public var search: [String]
    /// Resolver options.
    public var options: [String]

    public init(nameservers: [String] = [], domain: String? = nil, search: [String] = [], options: [String] = []) {
        self.nameservers = nameservers
        self.domain = domain
        self.search = search
        self.options = options
    }

    /// True when no field is set (such a `dns` is omitted from 1.x results).
    public var isEmpty: Bool {
        nameservers.isEmpty && (domain ?? "").isEmpty && search.isEmpty && options.isEmpty
    }

    enum CodingKeys: String, CodingKey { case nameservers, domain, search, options }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        nameservers = try container.decodeIfPresent([String].self, forKey: .nameservers) ?? []
        domain = try container.decodeIfPresent(String.self, forKey: .domain)
        search = try container.decodeIfPresent([String].self, forKey: .search) ?? []
        options = try container.decodeIfPresent([String].self, forKey: .options) ?? []
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        if !nameservers.isEmpty { try container.encode(nameservers, forKey: .nameservers) }
        if let domain, !domain.isEmpty { try container.encode(domain, forKey: .domain) }
        if !search.isEmpty { try container.encode(search, forKey: .search) }
        if !options.isEmpty { try container.encode(options, forKey: .options) }
    }
}
