import NetPrimitives

/// The capability arguments of CNI's conventions that a runtime passes in a plugin's
/// `runtimeConfig` (only those the plugin declares under `capabilities` in the network
/// configuration): `portMappings`, `bandwidth`, `mac`, `ips`, `dns`, `ipRanges`, …
///
/// A plugin decodes this from its configuration, takes what it honours, and calls
/// ``refuseUnhonoured(_:plugin:)`` so a capability declared for it but not implemented is a
/// clear error (code 2, unsupported field) rather than silently dropped:
///
/// ```swift
/// let capabilities = configuration.runtimeConfig ?? RuntimeCapabilities()
/// try capabilities.refuseUnhonoured([.mac, .ips, .dns], plugin: "swift-flannel")
/// ```
public struct RuntimeCapabilities: Decodable, Sendable, Hashable {
    /// A capability of the conventions.
    public struct Name: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
        public var rawValue: String
        public init(rawValue: String) { self.rawValue = rawValue }
        public var description: String { rawValue }

        public static let portMappings = Name(rawValue: "portMappings")
        public static let bandwidth = Name(rawValue: "bandwidth")
        public static let mac = Name(rawValue: "mac")
        public static let ips = Name(rawValue: "ips")
        public static let dns = Name(rawValue: "dns")
        public static let ipRanges = Name(rawValue: "ipRanges")
        public static let infinibandGUID = Name(rawValue: "infinibandGUID")
        public static let deviceID = Name(rawValue: "deviceID")
        public static let aliases = Name(rawValue: "aliases")

        /// The conventions' capabilities (other `runtimeConfig` keys are left to the plugin).
        public static let conventional: [Name] = [.portMappings, .bandwidth, .mac, .ips, .dns, .ipRanges, .infinibandGUID, .deviceID, .aliases]
    }

    /// `dns`: `{"servers": [...], "searches": [...], "options": [...]}`.
    public struct DNSCapability: Decodable, Sendable, Hashable {
        public var servers: [String]?
        public var searches: [String]?
        public var options: [String]?
        public var domain: String?
    }

    /// The conventional capabilities present.
    public var present: Set<Name>
    /// `mac` as given (validated by ``macAddress()``).
    public var mac: String?
    /// `ips`: requested addresses, with or without a prefix length.
    public var ips: [String]?
    public var dns: DNSCapability?

    public init() {
        present = []
    }

    private struct Key: CodingKey {
        var stringValue: String
        var intValue: Int? { nil }
        init(stringValue: String) { self.stringValue = stringValue }
        init?(intValue: Int) { nil }
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: Key.self)
        let keys = Set(container.allKeys.map(\.stringValue))
        present = Set(Name.conventional.filter { keys.contains($0.rawValue) })
        mac = try container.decodeIfPresent(String.self, forKey: Key(stringValue: "mac"))
        ips = try container.decodeIfPresent([String].self, forKey: Key(stringValue: "ips"))
        dns = try container.decodeIfPresent(DNSCapability.self, forKey: Key(stringValue: "dns"))
    }

    /// Throws code 2 (unsupported field) naming the first conventional capability present that
    /// `plugin` does not honour, and what to do instead.
    public func refuseUnhonoured(_ honoured: Set<Name>, plugin: String) throws(CNIError) {
        for name in Name.conventional where present.contains(name) && !honoured.contains(name) {
            let remedy: String = switch name {
            case .portMappings: "chain the portmap plugin after it"
            case .bandwidth: "chain the bandwidth plugin after it"
            case .mac: "chain the tuning plugin after it"
            default: "remove it from the plugin's capabilities"
            }
            throw CNIError(
                .unsupportedField,
                "\(plugin) does not honour the \"\(name)\" capability (runtimeConfig.\(name)): \(remedy)",
                details: "honoured: \(honoured.map(\.rawValue).sorted().joined(separator: ", "))")
        }
    }

    /// `mac` as a unicast MAC address; a malformed or multicast one is code 7.
    public func macAddress() throws(CNIError) -> MACAddress? {
        guard let mac else { return nil }
        guard let address = try? MACAddress(parsing: mac) else {
            throw CNIError(.invalidNetworkConfig, "runtimeConfig.mac \"\(mac)\" is not a MAC address")
        }
        guard address.bytes.first.map({ $0 & 1 == 0 }) ?? false else {
            throw CNIError(.invalidNetworkConfig, "runtimeConfig.mac \(mac) is a multicast address")
        }
        return address
    }

    /// `ips` as addresses (a prefix length, when given, is dropped); a malformed one is code 7.
    public func requestedAddresses() throws(CNIError) -> [IPAddress] {
        var addresses: [IPAddress] = []
        for text in ips ?? [] {
            let bare = text.split(separator: "/", maxSplits: 1).first.map(String.init) ?? text
            guard let address = try? IPAddress(parsing: bare) else {
                throw CNIError(.invalidNetworkConfig, "runtimeConfig.ips: \"\(text)\" is not an IP address")
            }
            addresses.append(address)
        }
        return addresses
    }

    /// `dns` as a result's DNS (nil when absent or empty).
    public var resultDNS: DNS? {
        guard let dns else { return nil }
        let value = DNS(nameservers: dns.servers ?? [], domain: dns.domain, search: dns.searches ?? [], options: dns.options ?? [])
        return value.isEmpty ? nil : value
    }
}
