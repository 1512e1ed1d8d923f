import Netlink
internal import CNftnl
import NetPrimitives

/// Turns the kernel expressions of a rule back into typed matchers and statements: the
/// inverse of ``NftablesRuleCompiler`` for everything it writes. A rule written by another tool
/// with expressions this library does not model comes back with `isFullyDecoded == false`.
struct NftablesRuleDecoder {
    let family: NftablesFamily
    /// The elements of an anonymous set a lookup refers to, when known.
    var anonymousElements: (LookupExpression) -> [NftablesSetElement]? = { _ in nil }

    private enum Load {
        case address(IPAddress.Family, isSource: Bool, length: Int)
        case port(isSource: Bool)
        case field(NftablesSelector)
        case connectionState
        case addressType
    }

    func decode(_ expressions: [(any KernelExpression)?], table: NftablesTable, chain: String) -> NftablesRule {
        var matches: [NftablesMatch] = []
        var statements: [NftablesStatement] = []
        var complete = true
        var counters: NftablesRule.Counters?
        var loads: [Load] = []
        var mask: [UInt8]?
        var immediates: [UInt32: [UInt8]] = [:]
        var pendingProtocol: (proto: NftablesTransportProtocol, index: Int, used: Bool)?

        func settleProtocol() {
            if let pending = pendingProtocol, !pending.used {
                matches.insert(.l4Protocol(pending.proto), at: pending.index)
            }
            pendingProtocol = nil
        }
        func proto() -> NftablesTransportProtocol {
            pendingProtocol?.used = true
            return pendingProtocol?.proto ?? .tcp
        }
        func selector(_ load: Load) -> NftablesSelector? {
            switch load {
            case .address(let family, let isSource, _): isSource ? .sourceAddress(family) : .destinationAddress(family)
            case .port(let isSource): isSource ? .sourcePort(proto()) : .destinationPort(proto())
            case .field(let selector): selector
            case .connectionState, .addressType: nil
            }
        }

        var index = 0
        while index < expressions.count {
            defer { index += 1 }
            guard let expression = expressions[index] else {
                complete = false
                continue
            }
            let next = index + 1 < expressions.count ? expressions[index + 1] as? CompareExpression : nil
            switch expression {
            case let meta as MetaExpression:
                switch meta.key {
                case .protocolFamily where next?.op == .equal:
                    index += 1
                case .l4Protocol where next?.op == .equal && next?.data.count == 1:
                    settleProtocol()
                    if let proto = NftablesTransportProtocol(number: next!.data[0]) {
                        pendingProtocol = (proto, matches.count, false)
                    } else {
                        complete = false
                    }
                    index += 1
                case .protocolFamily: complete = false
                case .l4Protocol: loads.append(.field(.l4Protocol))
                case .inputInterfaceName: loads.append(.field(.inputInterfaceName))
                case .outputInterfaceName: loads.append(.field(.outputInterfaceName))
                case .mark: loads.append(.field(.mark))
                }
            case let payload as PayloadExpression:
                switch (payload.header, payload.offset) {
                case (.network, 12): loads.append(.address(.v4, isSource: true, length: Int(payload.length)))
                case (.network, 16): loads.append(.address(.v4, isSource: false, length: Int(payload.length)))
                case (.network, 8): loads.append(.address(.v6, isSource: true, length: Int(payload.length)))
                case (.network, 24): loads.append(.address(.v6, isSource: false, length: Int(payload.length)))
                case (.transport, 0): loads.append(.port(isSource: true))
                case (.transport, 2): loads.append(.port(isSource: false))
                default: complete = false
                }
            case let bitwise as BitwiseExpression:
                mask = bitwise.mask
            case is ConntrackExpression:
                loads.append(.connectionState)
            case is FibExpression:
                loads.append(.addressType)
            case let compare as CompareExpression:
                guard let load = loads.last else {
                    complete = false
                    continue
                }
                let negated = compare.op == .notEqual
                switch load {
                case .address(let addressFamily, let isSource, let length):
                    let width = addressFamily.bitWidth / 8
                    let prefix = mask.map { $0.reduce(0) { $0 + $1.nonzeroBitCount } } ?? length * 8
                    let bytes = compare.data + [UInt8](repeating: 0, count: max(0, width - compare.data.count))
                    if let address = IPAddress(bytes: bytes.prefix(width)),
                        let network = try? IPNetwork(address: address, prefixLength: prefix)
                    {
                        matches.append(
                            isSource
                                ? .sourceAddress(network, negated: negated)
                                : .destinationAddress(network, negated: negated))
                    } else {
                        complete = false
                    }
                case .port(let isSource):
                    let low = UInt16(compare.data.first ?? 0) << 8 | UInt16(compare.data.dropFirst().first ?? 0)
                    var high = low
                    if compare.op == .greaterOrEqual, let upper = next, upper.op == .lessOrEqual {
                        high = UInt16(upper.data.first ?? 0) << 8 | UInt16(upper.data.dropFirst().first ?? 0)
                        index += 1
                    }
                    let proto = proto()
                    matches.append(
                        isSource
                            ? .sourcePort(proto, low...max(low, high), negated: negated)
                            : .destinationPort(proto, low...max(low, high), negated: negated))
                case .field(.inputInterfaceName):
                    let name = String(decoding: compare.data.prefix { $0 != 0 }, as: UTF8.self)
                    matches.append(.inputInterface(name, negated: negated))
                case .field(.outputInterfaceName):
                    let name = String(decoding: compare.data.prefix { $0 != 0 }, as: UTF8.self)
                    matches.append(.outputInterface(name, negated: negated))
                case .field(.mark):
                    matches.append(.mark(Self.hostValue(compare.data)))
                case .connectionState:
                    matches.append(.connectionState(NftablesConnectionState(rawValue: Self.hostValue(mask ?? []))))
                case .addressType:
                    let number = Self.hostValue(compare.data)
                    if number >= 1, number <= UInt32(NftablesAddressType.allCases.count) {
                        matches.append(.destinationAddressType(NftablesAddressType.allCases[Int(number) - 1]))
                    } else {
                        complete = false
                    }
                default:
                    complete = false
                }
                loads.removeAll()
                mask = nil
            case let range as RangeExpression:
                if case .port(let isSource)? = loads.last, range.from.count == 2, range.to.count == 2 {
                    let low = UInt16(range.from[0]) << 8 | UInt16(range.from[1])
                    let high = UInt16(range.to[0]) << 8 | UInt16(range.to[1])
                    let proto = proto()
                    matches.append(
                        isSource
                            ? .sourcePort(proto, low...max(low, high), negated: range.isNegated)
                            : .destinationPort(proto, low...max(low, high), negated: range.isNegated))
                } else {
                    complete = false
                }
                loads.removeAll()
            case let lookup as LookupExpression:
                let selectors = loads.compactMap(selector)
                if lookup.isVerdictMap {
                    statements.append(.verdictMap(selectors, map: lookup.set))
                } else if let elements = anonymousElements(lookup) {
                    matches.append(.inValues(selectors, elements, negated: lookup.isInverted))
                } else {
                    matches.append(.inSet(selectors, set: lookup.set, negated: lookup.isInverted))
                }
                loads.removeAll()
            case let immediate as ImmediateExpression:
                switch immediate.content {
                case .verdict(let verdict): statements.append(.verdict(verdict))
                case .data(let bytes): immediates[immediate.register] = bytes
                }
            case let nat as NatExpression:
                guard let address = immediates[nat.addressRegister].flatMap({ IPAddress(bytes: $0) }) else {
                    complete = false
                    continue
                }
                let port = nat.portRegister.flatMap { immediates[$0] }.map { UInt16($0[0]) << 8 | UInt16($0[1]) }
                statements.append(nat.isSource ? .sourceNAT(address, port: port) : .destinationNAT(address, port: port))
            case let counter as CounterExpression:
                statements.append(.counter)
                if counters == nil { counters = NftablesRule.Counters(packets: counter.packets, bytes: counter.bytes) }
            case let log as LogExpression: statements.append(.log(prefix: log.prefix))
            case let reject as RejectExpression:
                if reject.type == UInt32(NFT_REJECT_TCP_RST.rawValue) {
                    statements.append(.rejectWithTCPReset)
                } else {
                    statements.append(.reject)
                    if reject != RejectExpression(family: family) { complete = false }
                }
            case let masquerade as MasqueradeExpression:
                statements.append(masquerade.isFullyRandom ? .masqueradeFullyRandom : .masquerade)
            default: complete = false
            }
        }
        settleProtocol()
        var rule = NftablesRule(table: table, chain: chain, matches: matches, statements: statements)
        rule.isFullyDecoded = complete
        rule.counters = counters
        return rule
    }

    private static func hostValue(_ bytes: [UInt8]) -> UInt32 {
        let padded = Array(bytes.prefix(4)) + [UInt8](repeating: 0, count: max(0, 4 - bytes.count))
        return padded.withUnsafeBytes { $0.loadUnaligned(as: UInt32.self) }
    }
}
