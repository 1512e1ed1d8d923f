import NetPrimitives
import Netlink
import Nftables

/// Cutting the underlay between two nodes, for every plugin: inside the fabric namespace (and
/// the router's, with several underlay subnets),
/// table `inet cnilab_links` drops IPv4 (and with `--ip-family ipv6|dual` IPv6) forwarded between the two nodes' underlay addresses, in
/// both directions, on the fabric bridge (bridged traffic passes the IP hooks:
/// `net.bridge.bridge-nf-call-iptables=1` in the fabric namespace). The table is the state: a
/// rule per direction with the comment `cnilab link A B`.
extension Lab {
    static let linksTable = NftablesTable(family: .inet, name: "cnilab_links")

    /// The blocked node pairs (lower index first), from the fabric's table.
    public func blockedLinks() throws -> [LinkBlock] {
        let fabric = try Self.openNamespace(LabNames.fabric(lab: name))
        return try Self.kernel("reading \(Self.linksTable)") {
            let handle = try NftablesHandle(namespace: fabric)
            guard let contents = try? handle.contents(of: Self.linksTable) else { return [] }
            return Set(contents.rules.compactMap { LinkBlock(comment: $0.comment) }).sorted()
        }
    }

    /// Drops underlay traffic between nodes `a` and `b` (both directions; with `udpPort`, only
    /// UDP to that port) until ``unblockLink(_:_:udpPort:)``; blocking a blocked pair changes
    /// nothing.
    public func blockLink(_ a: Int, _ b: Int, udpPort: UInt16? = nil) throws {
        var pair = try linkBlock(a, b)
        pair.udpPort = udpPort
        try writeLinks(Set(try blockedLinks()).union([pair]))
    }

    /// Lets underlay traffic between nodes `a` and `b` through again.
    public func unblockLink(_ a: Int, _ b: Int, udpPort: UInt16? = nil) throws {
        var pair = try linkBlock(a, b)
        pair.udpPort = udpPort
        try writeLinks(Set(try blockedLinks()).subtracting([pair]))
    }

    private func linkBlock(_ a: Int, _ b: Int) throws -> LinkBlock {
        guard a != b else { throw LabError(.invalidArgument, "a link joins two different nodes, not \(a) and \(b)") }
        _ = try nodeRecord(a)
        _ = try nodeRecord(b)
        return LinkBlock(min(a, b), max(a, b))
    }

    private func writeLinks(_ pairs: Set<LinkBlock>) throws {
        let fabric = try Self.openNamespace(LabNames.fabric(lab: name))
        let chain = NftablesChain.base(table: Self.linksTable, name: "forward", hook: .forward, priority: -10)
        var rules: [NftablesRule] = []
        for pair in pairs.sorted() {
            var ends = [(try IPAddress(parsing: underlayAddress(of: pair.first)), try IPAddress(parsing: underlayAddress(of: pair.second)))]
            if ipFamily.hasIPv6 {
                ends.append((
                    try IPAddress(parsing: LabAddressing.underlayIPv6Address(node: pair.first, subnets: underlaySubnets)),
                    try IPAddress(parsing: LabAddressing.underlayIPv6Address(node: pair.second, subnets: underlaySubnets))))
            }
            for (first, second) in ends {
                for (from, to) in [(first, second), (second, first)] {
                    rules.append(NftablesRule(
                        in: chain,
                        matches: [.sourceAddress(IPNetwork(host: from)), .destinationAddress(IPNetwork(host: to))]
                            + (pair.udpPort.map { [.destinationPort(.udp, $0)] } ?? []),
                        statements: [.counter, .drop], comment: pair.comment))
                }
            }
        }
        // Bridged and routed underlay traffic: the fabric's bridge, and with several underlay
        // subnets the router's bridges and its forwarding between them.
        var namespaces = [fabric]
        if underlaySubnets > 1 { namespaces.append(try Self.openNamespace(LabNames.router(lab: name))) }
        for namespace in namespaces {
            try Self.kernel("programming \(Self.linksTable)") {
                let netlink = try NetlinkHandle(namespace: namespace)
                for key in ["net.bridge.bridge-nf-call-iptables", "net.bridge.bridge-nf-call-ip6tables"] where try netlink.sysctl(key) != "1" {
                    try netlink.setSysctl(key, to: "1")
                }
                let handle = try NftablesHandle(namespace: namespace)
                var transaction = NftablesTransaction()
                transaction.replace(with: NftablesTableContents(table: Self.linksTable, chains: [chain], rules: rules))
                try handle.apply(transaction)
            }
        }
    }

    /// Node I's underlay address (also of a node that left: the lab numbers them by index).
    private func underlayAddress(of index: Int) -> String {
        state.nodes.first { $0.index == index }?.underlayAddress ?? LabAddressing.underlayAddress(node: index, subnets: underlaySubnets)
    }
}

/// Two nodes whose underlay traffic the fabric drops (`cnilab link block A B`).
public struct LinkBlock: Hashable, Comparable, Sendable, Codable, CustomStringConvertible {
    public var first: Int
    public var second: Int

    /// Only UDP to this port is dropped (nil: all traffic).
    public var udpPort: UInt16?

    public init(_ first: Int, _ second: Int, udpPort: UInt16? = nil) {
        self.first = first
        self.second = second
        self.udpPort = udpPort
    }

    init?(comment: String?) {
        guard let comment, comment.hasPrefix("cnilab link ") else { return nil }
        let words = comment.dropFirst("cnilab link ".count).split(separator: " ")
        let parts = words.prefix(2).compactMap { Int($0) }
        guard parts.count == 2 else { return nil }
        if words.count == 4, words[2] == "udp", let port = UInt16(words[3]) {
            self.init(parts[0], parts[1], udpPort: port)
        } else {
            guard words.count == 2 else { return nil }
            self.init(parts[0], parts[1])
        }
    }

    var comment: String { "cnilab link \(first) \(second)" + (udpPort.map { " udp \($0)" } ?? "") }

    public static func < (lhs: LinkBlock, rhs: LinkBlock) -> Bool {
        (lhs.first, lhs.second, Int(lhs.udpPort ?? 0)) < (rhs.first, rhs.second, Int(rhs.udpPort ?? 0))
    }

    public var description: String { "node \(first) ⟷ node \(second)" + (udpPort.map { " (udp/\($0) only)" } ?? "") }
}
