#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import NetPrimitives

/// flannel's `subnet.env`: the node's lease as flanneld writes it for the CNI plugin, one
/// `KEY=VALUE` a line:
///
/// ```
/// FLANNEL_NETWORK=10.244.0.0/16
/// FLANNEL_SUBNET=10.244.1.1/24
/// FLANNEL_MTU=1450
/// FLANNEL_IPMASQ=false
/// ```
///
/// A dual-stack network adds `FLANNEL_IPV6_NETWORK` and `FLANNEL_IPV6_SUBNET` (the node's IPv6
/// subnet, also as its first host: `fd00:10:244:1::1/64`); an IPv6-only network has those and
/// no `FLANNEL_NETWORK`/`FLANNEL_SUBNET`, as flanneld writes them.
///
/// `FLANNEL_SUBNET` is the node's subnet written as its first host address. Parsing is strict
/// about what it reads (a line that is not `KEY=VALUE`, a repeated key, or a bad value of a
/// known key is an error naming the line) and tolerant of what flannel's readers tolerate:
/// blank lines, `#` comments, surrounding blanks, `\r\n`, a double-quoted value, and keys it
/// does not model. Written by ``write(to:)`` atomically.
public struct SubnetEnvironment: Hashable, Sendable {
    /// `FLANNEL_NETWORK`: the whole IPv4 cluster network (`10.244.0.0/16`); nil when IPv6-only.
    public var network: IPNetwork?
    /// `FLANNEL_SUBNET`: this node's subnet as written (first host: `10.244.1.1/24`); its
    /// `.network` is `10.244.1.0/24`. Nil when IPv6-only.
    public var subnet: IPNetwork?
    /// `FLANNEL_IPV6_NETWORK`: the whole IPv6 cluster network, when IPv6 is enabled.
    public var ipv6Network: IPNetwork?
    /// `FLANNEL_IPV6_SUBNET`: this node's IPv6 subnet as written (first host).
    public var ipv6Subnet: IPNetwork?
    /// `FLANNEL_MTU`.
    public var mtu: Int?
    /// `FLANNEL_IPMASQ`: whether flanneld masquerades the pods' traffic itself.
    public var ipMasquerade: Bool

    /// The default path, `/run/flannel/subnet.env`.
    public static let defaultPath = "/run/flannel/subnet.env"

    public init(network: IPNetwork, subnet: IPNetwork, mtu: Int? = nil, ipMasquerade: Bool = false) {
        self.network = network
        self.subnet = subnet
        self.mtu = mtu
        self.ipMasquerade = ipMasquerade
    }

    /// A dual-stack (both pairs) or single-family (one pair nil) environment.
    public init(
        network: IPNetwork?, subnet: IPNetwork?, ipv6Network: IPNetwork?, ipv6Subnet: IPNetwork?, mtu: Int? = nil, ipMasquerade: Bool = false
    ) {
        self.network = network
        self.subnet = subnet
        self.ipv6Network = ipv6Network
        self.ipv6Subnet = ipv6Subnet
        self.mtu = mtu
        self.ipMasquerade = ipMasquerade
    }

    /// The node's subnets in network form, IPv4 first: what pods get an address from.
    public var podSubnets: [IPNetwork] { [subnet, ipv6Subnet].compactMap { $0?.network } }

    /// Parses the file's text; errors are `.invalidConfiguration` naming the line.
    public init(parsing text: String, path: String = "subnet.env") throws(IPAMError) {
        var values: [String: (value: String, line: Int)] = [:]
        for (index, rawLine) in text.split(omittingEmptySubsequences: false, whereSeparator: \.isNewline).enumerated() {
            let line = Self.trimmed(rawLine)
            guard !line.isEmpty, line.first != "#" else { continue }
            guard let equals = line.firstIndex(of: "="), equals != line.startIndex else {
                throw IPAMError(.invalidConfiguration, "\(path) line \(index + 1): \"\(line)\" is not KEY=VALUE")
            }
            let key = String(Self.trimmed(line[..<equals]))
            var value = String(Self.trimmed(line[line.index(after: equals)...]))
            if value.count >= 2, value.first == "\"", value.last == "\"" { value = String(value.dropFirst().dropLast()) }
            if let earlier = values[key] {
                throw IPAMError(.invalidConfiguration, "\(path) line \(index + 1): \(key) repeats line \(earlier.line)")
            }
            values[key] = (value, index + 1)
        }
        func required(_ key: String) throws(IPAMError) -> (value: String, line: Int) {
            guard let entry = values[key] else { throw IPAMError(.invalidConfiguration, "\(path) has no \(key)") }
            return entry
        }
        func cidr(_ key: String) throws(IPAMError) -> IPNetwork {
            let entry = try required(key)
            guard let network = IPNetwork(entry.value) else {
                throw IPAMError(.invalidConfiguration, "\(path) line \(entry.line): \(key)=\(entry.value) is not a CIDR")
            }
            return network
        }
        func optionalCIDR(_ key: String) throws(IPAMError) -> IPNetwork? { values[key] == nil ? nil : try cidr(key) }
        // IPv4 unless the file is IPv6-only (no FLANNEL_NETWORK, FLANNEL_IPV6_NETWORK present).
        let ipv6Only = values["FLANNEL_NETWORK"] == nil && values["FLANNEL_SUBNET"] == nil && values["FLANNEL_IPV6_NETWORK"] != nil
            && values["FLANNEL_IPV6_SUBNET"] != nil
        network = ipv6Only ? nil : try cidr("FLANNEL_NETWORK")
        subnet = ipv6Only ? nil : try cidr("FLANNEL_SUBNET")
        // The IPv6 pair counts only when complete (an IPv4 file with a stray key stays IPv4).
        if values["FLANNEL_IPV6_NETWORK"] != nil, values["FLANNEL_IPV6_SUBNET"] != nil {
            ipv6Network = try optionalCIDR("FLANNEL_IPV6_NETWORK")
            ipv6Subnet = try optionalCIDR("FLANNEL_IPV6_SUBNET")
        }
        if let entry = values["FLANNEL_MTU"] {
            guard let mtu = Int(entry.value), (68...65535).contains(mtu) else {
                throw IPAMError(.invalidConfiguration, "\(path) line \(entry.line): FLANNEL_MTU=\(entry.value) is not a valid MTU")
            }
            self.mtu = mtu
        }
        if let entry = values["FLANNEL_IPMASQ"] {
            guard entry.value == "true" || entry.value == "false" else {
                throw IPAMError(.invalidConfiguration, "\(path) line \(entry.line): FLANNEL_IPMASQ=\(entry.value) is not true or false")
            }
            ipMasquerade = entry.value == "true"
        } else {
            ipMasquerade = false
        }
        for (network, subnet, prefix, family) in [
            (network, subnet, "FLANNEL_", IPAddress.Family.v4), (ipv6Network, ipv6Subnet, "FLANNEL_IPV6_", .v6),
        ] {
            guard let network, let subnet else { continue }
            let line = values[prefix + "SUBNET"]!.line
            guard subnet.family == network.family, network.contains(subnet.network) else {
                throw IPAMError(
                    .invalidConfiguration, "\(path) line \(line): \(prefix)SUBNET \(subnet) is not inside \(prefix)NETWORK \(network)")
            }
            // IPv4 keys with IPv6 values stay readable (ipv4PodSubnet() refuses them); the IPv6 keys hold IPv6.
            guard family == .v4 || network.family == .v6 else {
                throw IPAMError(.invalidConfiguration, "\(path) line \(line): \(prefix)NETWORK \(network) is not IPv6")
            }
        }
    }

    private static func trimmed(_ text: Substring) -> Substring {
        var result = text
        while let first = result.first, first == " " || first == "\t" { result.removeFirst() }
        while let last = result.last, last == " " || last == "\t" || last == "\r" { result.removeLast() }
        return result
    }

    /// The file's text as flannel writes it (`FLANNEL_MTU` only when known; each family's
    /// pair only when present).
    public var text: String {
        func firstHost(_ subnet: IPNetwork) -> String {
            let network = subnet.network
            return "\(network.address.advanced(by: 1) ?? network.address)/\(network.prefixLength)"
        }
        var text = ""
        if let network, let subnet { text += "FLANNEL_NETWORK=\(network.network)\nFLANNEL_SUBNET=\(firstHost(subnet))\n" }
        if let ipv6Network, let ipv6Subnet {
            text += "FLANNEL_IPV6_NETWORK=\(ipv6Network.network)\nFLANNEL_IPV6_SUBNET=\(firstHost(ipv6Subnet))\n"
        }
        if let mtu { text += "FLANNEL_MTU=\(mtu)\n" }
        text += "FLANNEL_IPMASQ=\(ipMasquerade)\n"
        return text
    }

    /// The subnet for pods of a routed or bridged IPv4 plugin: IPv4, with room for pods (at
    /// most /30). Otherwise `.invalidConfiguration`.
    public func ipv4PodSubnet() throws(IPAMError) -> IPNetwork {
        guard let subnet, subnet.family == .v4 else { throw IPAMError(.invalidConfiguration, "subnet.env: only IPv4 networks are supported") }
        guard subnet.prefixLength <= 30 else {
            throw IPAMError(.invalidConfiguration, "subnet.env: FLANNEL_SUBNET \(subnet) is too small for pods")
        }
        return subnet.network
    }

    /// Reads and parses `path`. A missing file is `.notReady` (flanneld has not leased a
    /// subnet yet: a CNI runtime should try again later).
    public static func load(path: String) throws(IPAMError) -> SubnetEnvironment {
        let bytes: [UInt8]
        do { bytes = try POSIX.readFile(path) } catch {
            if error.errno == ENOENT {
                throw IPAMError(.notReady, "\(path) does not exist", underlying: "is flanneld (or swift-flanneld) running on this node?")
            }
            throw error
        }
        return try SubnetEnvironment(parsing: String(decoding: bytes, as: UTF8.self), path: path)
    }

    /// Writes ``text`` to `path` atomically (a temporary file next to it, fsynced, renamed
    /// over it), creating the directory: a reader sees the old file or the new one.
    public func write(to path: String) throws(IPAMError) {
        if let slash = path.lastIndex(of: "/"), slash != path.startIndex {
            try POSIX.makeDirectories(String(path[..<slash]))
        }
        try POSIX.replaceFile(path, Array(text.utf8))
    }
}
