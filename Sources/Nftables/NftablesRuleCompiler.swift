import Netlink
internal import CNftnl
import NetPrimitives

/// Compiles typed matchers and statements into kernel expressions, as `nft` would: protocol
/// dependencies first (`meta nfproto`, `meta l4proto`), loads into registers, then compare,
/// lookup or action. Registers never leave this type.
struct NftablesRuleCompiler {
    /// An anonymous set a rule needs, created in the same batch just before the rule.
    struct AnonymousSet {
        var set: NftablesSet
        var elements: [NftablesSetElement]
        var identifier: UInt32
    }

    static let anonymousSetName = "__set%d"

    let family: NftablesFamily
    let operation: String
    /// Batch-local set IDs handed to anonymous sets.
    var nextSetIdentifier: UInt32 = 1_000_000
    private(set) var anonymousSets: [AnonymousSet] = []

    init(family: NftablesFamily, operation: String, nextSetIdentifier: UInt32 = 1_000_000) {
        self.family = family
        self.operation = operation
        self.nextSetIdentifier = nextSetIdentifier
    }

    mutating func compile(_ rule: NftablesRule) throws(NetlinkError) -> [any KernelExpression] {
        var expressions: [any KernelExpression] = []
        for match in rule.matches { expressions += try compile(match, table: rule.table) }
        for statement in rule.statements { expressions += try compile(statement) }
        return expressions
    }

    private func invalid(_ text: String) -> NetlinkError {
        NetlinkError(.invalidArgument, operation: operation, kernelMessage: text)
    }

    // MARK: Matchers

    mutating func compile(_ match: NftablesMatch, table: NftablesTable) throws(NetlinkError) -> [any KernelExpression] {
        guard case .inValues(let selectors, let elements, let negated) = match else { return try compile(match) }
        guard !elements.isEmpty else { throw invalid("an inline set needs at least one value") }
        let set = NftablesSet(
            table: table, name: Self.anonymousSetName, keyType: selectors.map(\.dataType),
            isInterval: elements.contains { $0.key.contains(where: \.isInterval) })
        try NftablesObjects.validate(set, operation: operation)
        _ = try NftablesElementCodec.encode(elements, in: set, operation: operation)
        let identifier = nextSetIdentifier
        nextSetIdentifier += 1
        anonymousSets.append(AnonymousSet(set: set, elements: elements, identifier: identifier))
        return try lookup(selectors)
            + [LookupExpression(set: Self.anonymousSetName, isInverted: negated, setIdentifier: identifier)]
    }

    func compile(_ match: NftablesMatch) throws(NetlinkError) -> [any KernelExpression] {
        switch match {
        case .sourceAddress(let network, let negated):
            return try address(network, isSource: true, negated: negated)
        case .destinationAddress(let network, let negated):
            return try address(network, isSource: false, negated: negated)
        case .l4Protocol(let proto):
            return l4Dependency(proto)
        case .sourcePort(let proto, let range, let negated):
            return try port(proto, range, isSource: true, negated: negated)
        case .destinationPort(let proto, let range, let negated):
            return try port(proto, range, isSource: false, negated: negated)
        case .inputInterface(let name, let negated):
            return [
                MetaExpression(key: .inputInterfaceName),
                CompareExpression(
                    negated ? .notEqual : .equal, try NftablesValue.interfaceNameBytes(name, operation: operation)),
            ]
        case .outputInterface(let name, let negated):
            return [
                MetaExpression(key: .outputInterfaceName),
                CompareExpression(
                    negated ? .notEqual : .equal, try NftablesValue.interfaceNameBytes(name, operation: operation)),
            ]
        case .connectionState(let state):
            guard !state.isEmpty else { throw invalid("ct state needs at least one state") }
            return [
                ConntrackExpression(),
                BitwiseExpression(mask: state.rawValue.hostBytes),
                CompareExpression(.notEqual, UInt32(0).hostBytes),
            ]
        case .mark(let mark):
            return [MetaExpression(key: .mark), CompareExpression(.equal, mark.hostBytes)]
        case .destinationAddressType(let type):
            return [FibExpression(), CompareExpression(.equal, type.number.hostBytes)]
        case .inSet(let selectors, let set, let negated):
            return try lookup(selectors) + [LookupExpression(set: set, isInverted: negated)]
        case .inValues:
            throw invalid("an inline set needs its table")
        }
    }

    private func familyDependency(_ addressFamily: IPAddress.Family) throws(NetlinkError) -> [any KernelExpression] {
        guard family.carries(addressFamily) else {
            throw invalid("an \(addressFamily == .v4 ? "IPv4" : "IPv6") match cannot be used in a table of family \(family)")
        }
        guard family == .inet else { return [] }
        return [MetaExpression(key: .protocolFamily), CompareExpression(.equal, [addressFamily == .v4 ? 2 : 10])]
    }

    private func l4Dependency(_ proto: NftablesTransportProtocol) -> [any KernelExpression] {
        [MetaExpression(key: .l4Protocol), CompareExpression(.equal, [proto.number])]
    }

    /// Network-header offset of the source or destination address.
    static func addressOffset(_ family: IPAddress.Family, isSource: Bool) -> UInt32 {
        switch (family, isSource) {
        case (.v4, true): 12
        case (.v4, false): 16
        case (.v6, true): 8
        case (.v6, false): 24
        }
    }

    private func address(_ network: IPNetwork, isSource: Bool, negated: Bool) throws(NetlinkError)
        -> [any KernelExpression]
    {
        var expressions = try familyDependency(network.family)
        let prefix = network.prefixLength
        // Byte-aligned prefixes load just their bytes; others (and /0, kept so that it reads
        // back as itself) load the whole address and mask it, which is how `nft` writes them.
        let bytes = network.network.address.bytes
        let length = prefix % 8 == 0 && prefix > 0 ? prefix / 8 : bytes.count
        expressions.append(
            PayloadExpression(
                header: .network, offset: Self.addressOffset(network.family, isSource: isSource),
                length: UInt32(length)))
        if prefix % 8 != 0 || prefix == 0 {
            expressions.append(BitwiseExpression(mask: network.netmask.bytes))
        }
        expressions.append(CompareExpression(negated ? .notEqual : .equal, Array(bytes.prefix(length))))
        return expressions
    }

    private func port(_ proto: NftablesTransportProtocol, _ range: ClosedRange<UInt16>, isSource: Bool, negated: Bool)
        throws(NetlinkError) -> [any KernelExpression]
    {
        guard proto != .icmp, proto != .icmpv6 else { throw invalid("\(proto.rawValue) has no ports") }
        var expressions = l4Dependency(proto)
        expressions.append(PayloadExpression(header: .transport, offset: isSource ? 0 : 2, length: 2))
        let low = range.lowerBound.bigEndianBytes
        let high = range.upperBound.bigEndianBytes
        if range.lowerBound == range.upperBound {
            expressions.append(CompareExpression(negated ? .notEqual : .equal, low))
        } else if negated {
            expressions.append(RangeExpression(isNegated: true, from: low, to: high))
        } else {
            expressions.append(CompareExpression(.greaterOrEqual, low))
            expressions.append(CompareExpression(.lessOrEqual, high))
        }
        return expressions
    }

    /// Dependencies, then each field loaded into consecutive 32-bit register slots.
    private func lookup(_ selectors: [NftablesSelector]) throws(NetlinkError) -> [any KernelExpression] {
        guard !selectors.isEmpty else { throw invalid("a set lookup needs at least one field") }
        var dependencies: [any KernelExpression] = []
        var seenFamilies: Set<IPAddress.Family> = []
        var seenProtocols: Set<NftablesTransportProtocol> = []
        var loads: [any KernelExpression] = []
        var offset = 0
        for selector in selectors {
            let register = Register.slot(byteOffset: offset)
            switch selector {
            case .sourceAddress(let addressFamily), .destinationAddress(let addressFamily):
                if seenFamilies.insert(addressFamily).inserted { dependencies += try familyDependency(addressFamily) }
                let isSource = if case .sourceAddress = selector { true } else { false }
                loads.append(
                    PayloadExpression(
                        header: .network, offset: Self.addressOffset(addressFamily, isSource: isSource),
                        length: UInt32(selector.dataType.length), register: register))
            case .sourcePort(let proto), .destinationPort(let proto):
                guard proto != .icmp, proto != .icmpv6 else { throw invalid("\(proto.rawValue) has no ports") }
                if seenProtocols.insert(proto).inserted { dependencies += l4Dependency(proto) }
                let isSource = if case .sourcePort = selector { true } else { false }
                loads.append(
                    PayloadExpression(header: .transport, offset: isSource ? 0 : 2, length: 2, register: register))
            case .inputInterfaceName:
                loads.append(MetaExpression(key: .inputInterfaceName, register: register))
            case .outputInterfaceName:
                loads.append(MetaExpression(key: .outputInterfaceName, register: register))
            case .mark:
                loads.append(MetaExpression(key: .mark, register: register))
            case .l4Protocol:
                loads.append(MetaExpression(key: .l4Protocol, register: register))
            }
            offset += (selector.dataType.length + 3) / 4 * 4
        }
        return dependencies + loads
    }

    // MARK: Statements

    func compile(_ statement: NftablesStatement) throws(NetlinkError) -> [any KernelExpression] {
        switch statement {
        case .verdict(let verdict):
            if let chain = verdict.chain, chain.isEmpty { throw invalid("jump/goto needs a chain name") }
            return [ImmediateExpression(.verdict(verdict), register: Register.verdict)]
        case .counter:
            return [CounterExpression()]
        case .log(let prefix):
            if let prefix, prefix.utf8.count > 127 || prefix.contains(where: { $0 == "\"" || $0.isNewline }) {
                throw invalid("a log prefix has at most 127 bytes and no quotes or line breaks")
            }
            return [LogExpression(prefix: prefix)]
        case .reject:
            return [RejectExpression(family: family)]
        case .rejectWithTCPReset:
            return [RejectExpression(type: UInt32(NFT_REJECT_TCP_RST.rawValue), code: 0)]
        case .masquerade:
            return [MasqueradeExpression()]
        case .masqueradeFullyRandom:
            return [MasqueradeExpression(isFullyRandom: true)]
        case .sourceNAT(let address, let port):
            return try nat(isSource: true, address, port)
        case .destinationNAT(let address, let port):
            return try nat(isSource: false, address, port)
        case .verdictMap(let selectors, let map):
            return try lookup(selectors) + [LookupExpression(set: map, isVerdictMap: true)]
        }
    }

    private func nat(isSource: Bool, _ address: IPAddress, _ port: UInt16?) throws(NetlinkError)
        -> [any KernelExpression]
    {
        guard family.carries(address.family) else {
            throw invalid("cannot translate to \(address) in a table of family \(family)")
        }
        var expressions: [any KernelExpression] = [ImmediateExpression(.data(address.bytes), register: 1)]
        if let port { expressions.append(ImmediateExpression(.data(port.bigEndianBytes), register: 2)) }
        expressions.append(
            NatExpression(
                isSource: isSource, family: address.family == .v4 ? .ipv4 : .ipv6, addressRegister: 1,
                portRegister: port == nil ? nil : 2))
        return expressions
    }
}
