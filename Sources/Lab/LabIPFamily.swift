import NetPrimitives

/// The address families of a lab (`cnilab up --ip-family ipv4|ipv6|dual`): of its pods, and
/// of its underlay besides IPv4.
///
/// The underlay always has IPv4 (the fabric's etcd and API server listen on it); with `ipv6`
/// or `dual` every underlay link also gets an address of the ULA `fd77::/64` (with
/// `--underlay-subnets N`, subnet S is `fd77:0:0:S::/64` and the router routes it too), so
/// an overlay can run over IPv6. The profile decides what the pods get from
/// ``LabProfileContext/ipFamily``: IPv4 only, IPv6 only, or both.
public enum LabIPFamily: String, Codable, Hashable, Sendable, CaseIterable, CustomStringConvertible {
    /// IPv4 only (the default, the lab as it always was).
    case ipv4
    /// IPv6 pods over an underlay with IPv6 (and IPv4).
    case ipv6
    /// Dual-stack: every pod gets an IPv4 and an IPv6 address.
    case dual

    /// Whether pods have IPv4 addresses.
    public var hasIPv4: Bool { self != .ipv6 }
    /// Whether pods (and the underlay) have IPv6 addresses.
    public var hasIPv6: Bool { self != .ipv4 }
    /// The pods' families, IPv4 first.
    public var families: [IPAddress.Family] { (hasIPv4 ? [.v4] : []) + (hasIPv6 ? [.v6] : []) }

    public var description: String { rawValue }
}
