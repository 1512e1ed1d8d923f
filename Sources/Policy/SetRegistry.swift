import NetPrimitives

/// Collects the named sets of a program, deduplicated by what they stand for (their key).
/// Names are derived from keys only (stable hash), so membership changes never rename a set.
struct SetRegistry {
    private(set) var addressSets: [String: AddressSet] = [:]
    private(set) var namedPortSets: [String: NamedPortSet] = [:]
    /// How the members of each endpoint-derived set are found, by set name (for incremental updates).
    private(set) var memberships: [String: SetMembership] = [:]
    private var keysByName: [String: String] = [:]

    mutating func addressSet(
        key: String, family: IPAddress.Family, origin: String, membership: SetMembership? = nil,
        elements: () -> [AddressRange]
    ) -> String {
        let fullKey = "address|\(family)|\(key)"
        if let existing = addressSets[fullKey] { return existing.name }
        let name = uniqueName(prefix: "a", key: fullKey, family: family)
        memberships[name] = membership
        addressSets[fullKey] = AddressSet(
            name: name, family: family, elements: Array(Set(elements())).sorted(), origin: origin,
            holdsEndpointAddresses: membership != nil)
        return name
    }

    mutating func namedPortSet(
        key: String, family: IPAddress.Family, origin: String, membership: SetMembership, elements: () -> [NamedPortElement]
    ) -> String {
        let fullKey = "named|\(family)|\(key)"
        if let existing = namedPortSets[fullKey] { return existing.name }
        let name = uniqueName(prefix: "n", key: fullKey, family: family)
        memberships[name] = membership
        namedPortSets[fullKey] = NamedPortSet(name: name, family: family, elements: Array(Set(elements())).sorted(), origin: origin)
        return name
    }

    private mutating func uniqueName(prefix: String, key: String, family: IPAddress.Family) -> String {
        var attempt = 0
        while true {
            let name = prefix + stableIdentifier(attempt == 0 ? key : "\(key)#\(attempt)") + (family == .v4 ? "4" : "6")
            if keysByName[name] == nil || keysByName[name] == key {
                keysByName[name] = key
                return name
            }
            attempt += 1
        }
    }
}

/// Which addresses of an endpoint belong to an endpoint-derived set: for address sets the
/// addresses `admits` accepts; for named-port sets those addresses with each port name resolved.
struct SetMembership: Sendable {
    let family: IPAddress.Family
    let admits: @Sendable (Endpoint, IPAddress) -> Bool
    var portNames: [String] = []
    var transport: TransportProtocol?

    func addressElements(of endpoint: Endpoint) -> [AddressRange] {
        endpoint.addresses.filter { $0.family == family && admits(endpoint, $0) }.map(AddressRange.init(address:))
    }

    func namedPortElements(of endpoint: Endpoint) -> [NamedPortElement] {
        guard let transport, !endpoint.namedPorts.isEmpty else { return [] }
        return endpoint.addresses.filter { $0.family == family && admits(endpoint, $0) }.flatMap { address in
            portNames.compactMap { name in
                endpoint.port(named: name, protocol: transport).map { NamedPortElement(address: address, protocol: transport, port: $0) }
            }
        }
    }
}

/// 12 hex digits of the 64-bit FNV-1a hash of `text`: short, stable across runs and builds
/// (unlike `Hasher`), and valid in nftables object names.
func stableIdentifier(_ text: String) -> String {
    var hash: UInt64 = 0xcbf2_9ce4_8422_2325
    for byte in text.utf8 {
        hash ^= UInt64(byte)
        hash = hash &* 0x0000_0100_0000_01B3
    }
    let hex = String(hash >> 16, radix: 16)
    return String(repeating: "0", count: max(0, 12 - hex.count)) + hex
}
