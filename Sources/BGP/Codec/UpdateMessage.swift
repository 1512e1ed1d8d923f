import NIOCore
import NetPrimitives

/// An UPDATE message (RFC 4271 §4.3) with its multiprotocol parts (RFC 4760).
public struct UpdateMessage: Hashable, Sendable {
    /// IPv4 prefixes withdrawn in the classic field.
    public var withdrawnRoutes: [BGPPrefix]
    public var attributes: PathAttributes
    /// IPv4 prefixes announced in the classic NLRI field.
    public var reachableRoutes: [BGPPrefix]
    /// MP_REACH_NLRI: prefixes of another family (IPv6) and their next hops.
    public var multiprotocolReach: MultiprotocolReach?
    /// MP_UNREACH_NLRI: withdrawn prefixes of another family.
    public var multiprotocolUnreach: MultiprotocolUnreach?
    /// Set by the decoder when RFC 7606 says how to handle a malformed UPDATE; nil when clean.
    public var errorAction: UpdateErrorAction?
    /// What was wrong, for logs (filled by the decoder).
    public var problems: [String]

    public init(
        withdrawnRoutes: [BGPPrefix] = [], attributes: PathAttributes = PathAttributes(),
        reachableRoutes: [BGPPrefix] = [], multiprotocolReach: MultiprotocolReach? = nil,
        multiprotocolUnreach: MultiprotocolUnreach? = nil
    ) {
        self.withdrawnRoutes = withdrawnRoutes
        self.attributes = attributes
        self.reachableRoutes = reachableRoutes
        self.multiprotocolReach = multiprotocolReach
        self.multiprotocolUnreach = multiprotocolUnreach
        self.errorAction = nil
        self.problems = []
    }

    /// End-of-RIB marker for a family (RFC 4724 §2): an empty UPDATE (IPv4) or an empty
    /// MP_UNREACH_NLRI.
    public static func endOfRIB(_ family: AddressFamily) -> UpdateMessage {
        family == .ipv4Unicast
            ? UpdateMessage(attributes: PathAttributes(origin: nil))
            : UpdateMessage(attributes: PathAttributes(origin: nil), multiprotocolUnreach: MultiprotocolUnreach(family: family, prefixes: []))
    }

    /// The family whose End-of-RIB this is, or nil when it carries something.
    public var endOfRIBFamily: AddressFamily? {
        guard withdrawnRoutes.isEmpty, reachableRoutes.isEmpty, multiprotocolReach == nil else { return nil }
        if let unreach = multiprotocolUnreach {
            return unreach.prefixes.isEmpty ? unreach.family : nil
        }
        return attributes == PathAttributes(origin: nil) ? .ipv4Unicast : nil
    }

    /// Every withdrawn prefix, including the announced ones when ``errorAction`` is
    /// treat-as-withdraw.
    public var allWithdrawn: [BGPPrefix] {
        var result = withdrawnRoutes + (multiprotocolUnreach?.prefixes ?? [])
        if errorAction == .treatAsWithdraw { result += reachableRoutes + (multiprotocolReach?.prefixes ?? []) }
        return result
    }

    /// Every announced prefix (none when treat-as-withdraw applies).
    public var allReachable: [BGPPrefix] {
        errorAction == .treatAsWithdraw ? [] : reachableRoutes + (multiprotocolReach?.prefixes ?? [])
    }

    func write(to buffer: inout ByteBuffer, context: MessageContext) {
        let withdrawnIndex = buffer.writerIndex
        buffer.writeInteger(UInt16(0))
        for prefix in withdrawnRoutes { prefix.write(to: &buffer) }
        buffer.setInteger(UInt16(buffer.writerIndex - withdrawnIndex - 2), at: withdrawnIndex)
        let attributesIndex = buffer.writerIndex
        buffer.writeInteger(UInt16(0))
        if attributes == PathAttributes(origin: nil) && reachableRoutes.isEmpty && multiprotocolReach == nil {
            // A pure withdrawal carries no attributes but MP_UNREACH_NLRI.
            if let unreach = multiprotocolUnreach {
                PathAttributes.writeAttribute(PathAttributes.Flag.optional, PathAttributes.TypeCode.mpUnreach, to: &buffer) {
                    unreach.write(to: &$0)
                }
            }
        } else {
            attributes.write(to: &buffer, fourOctet: context.fourOctetAS, reach: multiprotocolReach, unreach: multiprotocolUnreach)
        }
        buffer.setInteger(UInt16(buffer.writerIndex - attributesIndex - 2), at: attributesIndex)
        for prefix in reachableRoutes { prefix.write(to: &buffer) }
    }

    static func read(from body: inout ByteBuffer, context: MessageContext) throws -> UpdateMessage {
        guard let withdrawnLength = body.readInteger(as: UInt16.self), var withdrawnBytes = body.readSlice(length: Int(withdrawnLength)) else {
            throw BGPError.reset(3, 1, "withdrawn routes length overruns the message")
        }
        guard let attributesLength = body.readInteger(as: UInt16.self), var section = body.readSlice(length: Int(attributesLength)) else {
            throw BGPError.reset(3, 1, "total path attribute length overruns the message")
        }
        var withdrawn: [BGPPrefix] = []
        try BGPPrefix.readAll(.v4, from: &withdrawnBytes, into: &withdrawn)
        var reachable: [BGPPrefix] = []
        reachable.reserveCapacity(body.readableBytes / 4)
        try BGPPrefix.readAll(.v4, from: &body, into: &reachable)
        let decoded = try PathAttributeDecoder.decode(&section, context: context, hasIPv4Prefixes: !reachable.isEmpty)
        var update = UpdateMessage(
            withdrawnRoutes: withdrawn, attributes: decoded.attributes, reachableRoutes: reachable,
            multiprotocolReach: decoded.reach, multiprotocolUnreach: decoded.unreach)
        update.errorAction = decoded.action
        update.problems = decoded.problems
        return update
    }
}
