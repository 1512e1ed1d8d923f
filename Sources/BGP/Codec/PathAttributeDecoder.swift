import NIOCore
import NetPrimitives

/// What a receiver does with a malformed UPDATE (RFC 7606 §2). Session-reset errors are
/// thrown as ``BGPError`` with the NOTIFICATION to send instead.
public enum UpdateErrorAction: Hashable, Sendable {
    /// Every prefix in the UPDATE is handled as withdrawn.
    case treatAsWithdraw
    /// The malformed attribute was dropped; the route is used without it.
    case attributeDiscard
}

/// The result of decoding the path attribute section of one UPDATE.
struct DecodedAttributes {
    var attributes = PathAttributes(origin: nil)
    var reach: MultiprotocolReach?
    var unreach: MultiprotocolUnreach?
    var action: UpdateErrorAction?
    var problems: [String] = []
    var seen: Set<UInt8> = []

    mutating func note(_ action: UpdateErrorAction, _ problem: String) {
        problems.append(problem)
        if action == .treatAsWithdraw || self.action == nil { self.action = action }
    }
}

enum PathAttributeDecoder {
    typealias Flag = PathAttributes.Flag
    typealias TypeCode = PathAttributes.TypeCode

    /// Decodes the attributes in `section` (RFC 4271 §4.3, errors per RFC 7606).
    static func decode(
        _ section: inout ByteBuffer, context: MessageContext, hasIPv4Prefixes: Bool
    ) throws -> DecodedAttributes {
        var result = DecodedAttributes()
        var as4Path: ASPath?
        var as4Aggregator: PathAttributes.Aggregator?
        var asPathSeen = false
        while section.readableBytes > 0 {
            guard let flags = section.readInteger(as: UInt8.self), let type = section.readInteger(as: UInt8.self) else {
                throw BGPError.reset(3, 1, "truncated attribute header")
            }
            let length: Int
            if flags & Flag.extendedLength != 0 {
                guard let value = section.readInteger(as: UInt16.self) else { throw BGPError.reset(3, 1, "truncated attribute length") }
                length = Int(value)
            } else {
                guard let value = section.readInteger(as: UInt8.self) else { throw BGPError.reset(3, 1, "truncated attribute length") }
                length = Int(value)
            }
            // RFC 7606 §4: an attribute running past the section leaves the rest unparseable.
            guard var value = section.readSlice(length: length) else {
                throw BGPError.reset(3, 1, "attribute \(type) length \(length) overruns the attribute section")
            }
            if result.seen.contains(type) {
                // RFC 7606 §3(g): duplicate MP attributes reset, others are discarded.
                if type == TypeCode.mpReach || type == TypeCode.mpUnreach {
                    throw BGPError.reset(3, 1, "duplicate attribute \(type)")
                }
                result.note(.attributeDiscard, "duplicate attribute \(type) discarded")
                continue
            }
            result.seen.insert(type)
            try decodeOne(flags: flags, type: type, length: length, value: &value, context: context,
                          into: &result, as4Path: &as4Path, as4Aggregator: &as4Aggregator, asPathSeen: &asPathSeen)
        }
        // RFC 6793 §4.2.3: reconstruct the 4-octet path from a 2-octet speaker.
        if !context.fourOctetAS {
            let aggregatorIsTrans = result.attributes.aggregator.map { $0.asNumber == UInt32(OpenMessage.asTrans) } ?? true
            if aggregatorIsTrans {
                if let as4Aggregator { result.attributes.aggregator = as4Aggregator }
                if let as4Path { result.attributes.asPath = result.attributes.asPath.merged(withAS4Path: as4Path) }
            }
        }
        // Missing well-known mandatory attributes: treat-as-withdraw (RFC 7606 §3(d)).
        let carriesRoutes = hasIPv4Prefixes || !(result.reach?.prefixes.isEmpty ?? true)
        if carriesRoutes {
            if result.attributes.origin == nil { result.note(.treatAsWithdraw, "missing ORIGIN") }
            if !asPathSeen { result.note(.treatAsWithdraw, "missing AS_PATH") }
            if hasIPv4Prefixes && result.attributes.nextHop == nil { result.note(.treatAsWithdraw, "missing NEXT_HOP") }
            if context.internalPeer && result.attributes.localPreference == nil {
                // Tolerated: the decision process uses the default.
            }
        }
        return result
    }

    // swiftlint:disable:next function_parameter_count cyclomatic_complexity
    private static func decodeOne(
        flags: UInt8, type: UInt8, length: Int, value: inout ByteBuffer, context: MessageContext,
        into result: inout DecodedAttributes, as4Path: inout ASPath?,
        as4Aggregator: inout PathAttributes.Aggregator?, asPathSeen: inout Bool
    ) throws {
        let category = flags & (Flag.optional | Flag.transitive)
        let wellKnown = Flag.transitive
        let optionalTransitive = Flag.optional | Flag.transitive
        func flagsAre(_ expected: UInt8) -> Bool {
            if category == expected { return true }
            result.note(.treatAsWithdraw, "attribute \(type) has flags \(flags)")
            return false
        }
        switch type {
        case TypeCode.origin:
            guard flagsAre(wellKnown) else { return }
            guard length == 1, let raw = value.readInteger(as: UInt8.self), let origin = PathAttributes.Origin(rawValue: raw) else {
                return result.note(.treatAsWithdraw, "malformed ORIGIN")
            }
            result.attributes.origin = origin
        case TypeCode.asPath:
            guard flagsAre(wellKnown) else { return }
            guard let path = ASPath.read(from: &value, fourOctet: context.fourOctetAS) else {
                return result.note(.treatAsWithdraw, "malformed AS_PATH")
            }
            // RFC 4271 §6.3: an eBGP peer's path must start with its AS (checked by the RIB).
            result.attributes.asPath = path
            asPathSeen = true
        case TypeCode.nextHop:
            guard flagsAre(wellKnown) else { return }
            guard length == 4, let address = value.readInteger(as: UInt32.self) else {
                return result.note(.treatAsWithdraw, "malformed NEXT_HOP")
            }
            result.attributes.nextHop = IPv4Address(address)
        case TypeCode.med:
            guard flagsAre(Flag.optional) else { return }
            guard length == 4, let med = value.readInteger(as: UInt32.self) else {
                return result.note(.treatAsWithdraw, "malformed MULTI_EXIT_DISC")
            }
            result.attributes.multiExitDiscriminator = med
        case TypeCode.localPreference:
            // RFC 7606 §7.5: from an external peer it is discarded, whatever its form.
            guard context.internalPeer else { return }
            guard flagsAre(wellKnown) else { return }
            guard length == 4, let preference = value.readInteger(as: UInt32.self) else {
                return result.note(.treatAsWithdraw, "malformed LOCAL_PREF")
            }
            result.attributes.localPreference = preference
        case TypeCode.atomicAggregate:
            guard category == wellKnown, length == 0 else { return result.note(.attributeDiscard, "malformed ATOMIC_AGGREGATE") }
            result.attributes.atomicAggregate = true
        case TypeCode.aggregator:
            let size = context.fourOctetAS ? 8 : 6
            guard category == optionalTransitive, length == size else { return result.note(.attributeDiscard, "malformed AGGREGATOR") }
            let asNumber = context.fourOctetAS ? value.readInteger(as: UInt32.self)! : UInt32(value.readInteger(as: UInt16.self)!)
            result.attributes.aggregator = .init(asNumber: asNumber, address: IPv4Address(value.readInteger(as: UInt32.self)!))
        case TypeCode.communities:
            guard flagsAre(optionalTransitive) else { return }
            guard length % 4 == 0 else { return result.note(.treatAsWithdraw, "malformed COMMUNITIES") }
            var communities: [UInt32] = []
            communities.reserveCapacity(length / 4)
            while let community = value.readInteger(as: UInt32.self) { communities.append(community) }
            result.attributes.communities = communities
        case TypeCode.originatorID:
            guard flagsAre(Flag.optional) else { return }
            guard length == 4 else { return result.note(.treatAsWithdraw, "malformed ORIGINATOR_ID") }
            result.attributes.originatorID = IPv4Address(value.readInteger(as: UInt32.self)!)
        case TypeCode.clusterList:
            guard flagsAre(Flag.optional) else { return }
            guard length > 0, length % 4 == 0 else { return result.note(.treatAsWithdraw, "malformed CLUSTER_LIST") }
            var clusters: [IPv4Address] = []
            while let cluster = value.readInteger(as: UInt32.self) { clusters.append(IPv4Address(cluster)) }
            result.attributes.clusterList = clusters
        case TypeCode.mpReach:
            guard category == Flag.optional else { throw BGPError.reset(3, 4, "MP_REACH_NLRI flags \(flags)") }
            result.reach = try MultiprotocolReach.read(from: &value)
        case TypeCode.mpUnreach:
            guard category == Flag.optional else { throw BGPError.reset(3, 4, "MP_UNREACH_NLRI flags \(flags)") }
            result.unreach = try MultiprotocolUnreach.read(from: &value)
        case TypeCode.as4Path:
            // RFC 6793 §6 / RFC 7606 §7.9: malformed AS4_PATH is discarded.
            guard category == optionalTransitive, let path = ASPath.read(from: &value, fourOctet: true) else {
                return result.note(.attributeDiscard, "malformed AS4_PATH")
            }
            if !context.fourOctetAS { as4Path = path }
        case TypeCode.as4Aggregator:
            guard category == optionalTransitive, length == 8 else { return result.note(.attributeDiscard, "malformed AS4_AGGREGATOR") }
            as4Aggregator = .init(asNumber: value.readInteger(as: UInt32.self)!, address: IPv4Address(value.readInteger(as: UInt32.self)!))
        default:
            if flags & Flag.optional == 0 {
                // RFC 4271 §6.3: an unrecognised well-known attribute resets the session.
                throw BGPError.reset(3, 2, "unrecognised well-known attribute \(type)", data: [flags, type])
            }
            if flags & Flag.transitive != 0 {
                result.attributes.unknown.append(.init(
                    flags: flags & ~Flag.extendedLength, type: type, value: value.readBytes(length: length) ?? []))
            }
            // Unknown optional non-transitive attributes are quietly ignored.
        }
    }
}
