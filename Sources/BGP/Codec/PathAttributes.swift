import NIOCore
import NetPrimitives

/// The path attributes of a route (RFC 4271 §5, RFC 1997, RFC 4456, RFC 6793).
///
/// MP_REACH_NLRI and MP_UNREACH_NLRI are not here: they carry prefixes, not route properties,
/// and live on ``UpdateMessage``. Unknown optional transitive attributes ride along in
/// ``unknown`` and are passed on with the partial bit set.
public struct PathAttributes: Hashable, Sendable {
    public enum Origin: UInt8, Hashable, Sendable, Comparable {
        case igp = 0
        case egp = 1
        case incomplete = 2
        public static func < (lhs: Origin, rhs: Origin) -> Bool { lhs.rawValue < rhs.rawValue }
    }

    /// AGGREGATOR: the AS and router that formed an aggregate.
    public struct Aggregator: Hashable, Sendable {
        public var asNumber: UInt32
        public var address: IPv4Address
        public init(asNumber: UInt32, address: IPv4Address) {
            self.asNumber = asNumber
            self.address = address
        }
    }

    /// An attribute this implementation does not interpret, kept as received.
    public struct RawAttribute: Hashable, Sendable {
        public var flags: UInt8
        public var type: UInt8
        public var value: [UInt8]
        public init(flags: UInt8, type: UInt8, value: [UInt8]) {
            self.flags = flags
            self.type = type
            self.value = value
        }
    }

    public var origin: Origin?
    public var asPath: ASPath
    /// NEXT_HOP for IPv4 NLRI outside MP_REACH_NLRI.
    public var nextHop: IPv4Address?
    public var multiExitDiscriminator: UInt32?
    public var localPreference: UInt32?
    public var atomicAggregate: Bool
    public var aggregator: Aggregator?
    /// COMMUNITIES (RFC 1997), each as a 32-bit value (ASN << 16 | value).
    public var communities: [UInt32]
    /// ORIGINATOR_ID (RFC 4456).
    public var originatorID: IPv4Address?
    /// CLUSTER_LIST (RFC 4456).
    public var clusterList: [IPv4Address]
    /// Unrecognised optional transitive attributes.
    public var unknown: [RawAttribute]

    public init(
        origin: Origin? = .igp, asPath: ASPath = .empty, nextHop: IPv4Address? = nil,
        multiExitDiscriminator: UInt32? = nil, localPreference: UInt32? = nil, atomicAggregate: Bool = false,
        aggregator: Aggregator? = nil, communities: [UInt32] = [], originatorID: IPv4Address? = nil,
        clusterList: [IPv4Address] = [], unknown: [RawAttribute] = []
    ) {
        self.origin = origin
        self.asPath = asPath
        self.nextHop = nextHop
        self.multiExitDiscriminator = multiExitDiscriminator
        self.localPreference = localPreference
        self.atomicAggregate = atomicAggregate
        self.aggregator = aggregator
        self.communities = communities
        self.originatorID = originatorID
        self.clusterList = clusterList
        self.unknown = unknown
    }

    /// Well-known community NO_EXPORT (RFC 1997).
    public static let noExport: UInt32 = 0xFFFF_FF01
    /// Well-known community NO_ADVERTISE (RFC 1997).
    public static let noAdvertise: UInt32 = 0xFFFF_FF02

    enum TypeCode {
        static let origin: UInt8 = 1, asPath: UInt8 = 2, nextHop: UInt8 = 3, med: UInt8 = 4
        static let localPreference: UInt8 = 5, atomicAggregate: UInt8 = 6, aggregator: UInt8 = 7
        static let communities: UInt8 = 8, originatorID: UInt8 = 9, clusterList: UInt8 = 10
        static let mpReach: UInt8 = 14, mpUnreach: UInt8 = 15, as4Path: UInt8 = 17, as4Aggregator: UInt8 = 18
    }

    enum Flag {
        static let optional: UInt8 = 0x80, transitive: UInt8 = 0x40, partial: UInt8 = 0x20, extendedLength: UInt8 = 0x10
    }

    /// Writes one attribute: flags, type, 1- or 2-octet length, value.
    static func writeAttribute(
        _ flags: UInt8, _ type: UInt8, to buffer: inout ByteBuffer, _ value: (inout ByteBuffer) -> Void
    ) {
        let start = buffer.writerIndex
        buffer.writeInteger(flags | Flag.extendedLength)
        buffer.writeInteger(type)
        buffer.writeInteger(UInt16(0))
        value(&buffer)
        let length = buffer.writerIndex - start - 4
        if length <= 255 {
            // Shrink to the 1-octet length form.
            buffer.setInteger(flags & ~Flag.extendedLength, at: start)
            buffer.setInteger(UInt8(length), at: start + 2)
            if length > 0 {
                buffer.setBytes(buffer.getBytes(at: start + 4, length: length)!, at: start + 3)
            }
            buffer.moveWriterIndex(to: buffer.writerIndex - 1)
        } else {
            buffer.setInteger(UInt16(length), at: start + 2)
        }
    }

    /// Writes all attributes in type order. `fourOctet` tells whether the peer speaks 4-octet
    /// ASNs; when it does not, AS4_PATH and AS4_AGGREGATOR carry the real values (RFC 6793).
    func write(
        to buffer: inout ByteBuffer, fourOctet: Bool, reach: MultiprotocolReach? = nil,
        unreach: MultiprotocolUnreach? = nil
    ) {
        if let origin {
            Self.writeAttribute(Flag.transitive, TypeCode.origin, to: &buffer) { $0.writeInteger(origin.rawValue) }
        }
        Self.writeAttribute(Flag.transitive, TypeCode.asPath, to: &buffer) { asPath.write(to: &$0, fourOctet: fourOctet) }
        if let nextHop {
            Self.writeAttribute(Flag.transitive, TypeCode.nextHop, to: &buffer) { $0.writeInteger(nextHop.value) }
        }
        if let multiExitDiscriminator {
            Self.writeAttribute(Flag.optional, TypeCode.med, to: &buffer) { $0.writeInteger(multiExitDiscriminator) }
        }
        if let localPreference {
            Self.writeAttribute(Flag.transitive, TypeCode.localPreference, to: &buffer) { $0.writeInteger(localPreference) }
        }
        if atomicAggregate {
            Self.writeAttribute(Flag.transitive, TypeCode.atomicAggregate, to: &buffer) { _ in }
        }
        if let aggregator {
            Self.writeAttribute(Flag.optional | Flag.transitive, TypeCode.aggregator, to: &buffer) {
                if fourOctet { $0.writeInteger(aggregator.asNumber) } else {
                    $0.writeInteger(aggregator.asNumber > 0xFFFF ? OpenMessage.asTrans : UInt16(aggregator.asNumber))
                }
                $0.writeInteger(aggregator.address.value)
            }
        }
        if !communities.isEmpty {
            Self.writeAttribute(Flag.optional | Flag.transitive, TypeCode.communities, to: &buffer) {
                for community in communities { $0.writeInteger(community) }
            }
        }
        if let originatorID {
            Self.writeAttribute(Flag.optional, TypeCode.originatorID, to: &buffer) { $0.writeInteger(originatorID.value) }
        }
        if !clusterList.isEmpty {
            Self.writeAttribute(Flag.optional, TypeCode.clusterList, to: &buffer) {
                for cluster in clusterList { $0.writeInteger(cluster.value) }
            }
        }
        if let reach {
            Self.writeAttribute(Flag.optional, TypeCode.mpReach, to: &buffer) { reach.write(to: &$0) }
        }
        if let unreach {
            Self.writeAttribute(Flag.optional, TypeCode.mpUnreach, to: &buffer) { unreach.write(to: &$0) }
        }
        if !fourOctet && asPath.needsFourOctets {
            Self.writeAttribute(Flag.optional | Flag.transitive, TypeCode.as4Path, to: &buffer) {
                ASPath(segments: asPath.segments.filter { $0.kind == .sequence || $0.kind == .set })
                    .write(to: &$0, fourOctet: true)
            }
        }
        if !fourOctet, let aggregator, aggregator.asNumber > 0xFFFF {
            Self.writeAttribute(Flag.optional | Flag.transitive, TypeCode.as4Aggregator, to: &buffer) {
                $0.writeInteger(aggregator.asNumber)
                $0.writeInteger(aggregator.address.value)
            }
        }
        for attribute in unknown {
            // Passed on: optional transitive attributes we do not understand get the partial bit.
            Self.writeAttribute(attribute.flags & ~Flag.extendedLength | Flag.partial, attribute.type, to: &buffer) {
                $0.writeBytes(attribute.value)
            }
        }
    }
}
