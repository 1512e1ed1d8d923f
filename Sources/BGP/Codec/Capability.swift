import NIOCore

/// A capability advertised in an OPEN message (RFC 5492).
public enum Capability: Hashable, Sendable {
    /// Multiprotocol extensions (RFC 4760), code 1.
    case multiprotocol(AddressFamily)
    /// Route refresh (RFC 2918), code 2.
    case routeRefresh
    /// Graceful restart (RFC 4724), code 64.
    case gracefulRestart(GracefulRestart)
    /// Support for 4-octet AS numbers (RFC 6793), code 65, carrying the speaker's real ASN.
    case fourOctetAS(UInt32)
    /// Any other capability, kept as received.
    case unknown(code: UInt8, value: [UInt8])

    /// The graceful-restart capability value.
    public struct GracefulRestart: Hashable, Sendable {
        /// The R bit: the sender has restarted.
        public var restarting: Bool
        /// Seconds the peer should keep our routes after the session drops (12 bits).
        public var restartTime: UInt16
        /// Families whose forwarding state is kept, with the F bit.
        public var families: [Family]

        public struct Family: Hashable, Sendable {
            public var family: AddressFamily
            public var forwardingStatePreserved: Bool
            public init(family: AddressFamily, forwardingStatePreserved: Bool) {
                self.family = family
                self.forwardingStatePreserved = forwardingStatePreserved
            }
        }

        public init(restarting: Bool = false, restartTime: UInt16, families: [Family]) {
            self.restarting = restarting
            self.restartTime = min(restartTime, 0xFFF)
            self.families = families
        }
    }

    var code: UInt8 {
        switch self {
        case .multiprotocol: 1
        case .routeRefresh: 2
        case .gracefulRestart: 64
        case .fourOctetAS: 65
        case .unknown(let code, _): code
        }
    }

    func write(to buffer: inout ByteBuffer) {
        buffer.writeInteger(code)
        let lengthIndex = buffer.writerIndex
        buffer.writeInteger(UInt8(0))
        switch self {
        case .multiprotocol(let family):
            buffer.writeInteger(family.afi)
            buffer.writeInteger(UInt8(0))
            buffer.writeInteger(family.safi)
        case .routeRefresh:
            break
        case .gracefulRestart(let value):
            buffer.writeInteger((value.restarting ? 0x8000 : 0) | (value.restartTime & 0x0FFF))
            for entry in value.families {
                buffer.writeInteger(entry.family.afi)
                buffer.writeInteger(entry.family.safi)
                buffer.writeInteger(UInt8(entry.forwardingStatePreserved ? 0x80 : 0))
            }
        case .fourOctetAS(let asNumber):
            buffer.writeInteger(asNumber)
        case .unknown(_, let value):
            buffer.writeBytes(value)
        }
        buffer.setInteger(UInt8(buffer.writerIndex - lengthIndex - 1), at: lengthIndex)
    }

    /// Reads the capabilities of one capabilities optional parameter.
    static func readAll(from buffer: inout ByteBuffer) throws -> [Capability] {
        var capabilities: [Capability] = []
        while buffer.readableBytes > 0 {
            guard let code = buffer.readInteger(as: UInt8.self), let length = buffer.readInteger(as: UInt8.self),
                var value = buffer.readSlice(length: Int(length))
            else { throw BGPError.reset(2, 0, "truncated capability") }
            switch code {
            case 1:
                guard length == 4, let afi = value.readInteger(as: UInt16.self), value.readInteger(as: UInt8.self) != nil,
                    let safi = value.readInteger(as: UInt8.self)
                else { throw BGPError.reset(2, 0, "multiprotocol capability length \(length) is not 4") }
                capabilities.append(.multiprotocol(AddressFamily(afi: afi, safi: safi)))
            case 2:
                capabilities.append(.routeRefresh)
            case 64:
                guard length >= 2, (length - 2) % 4 == 0, let header = value.readInteger(as: UInt16.self) else {
                    throw BGPError.reset(2, 0, "graceful restart capability length \(length) is invalid")
                }
                var families: [GracefulRestart.Family] = []
                while let afi = value.readInteger(as: UInt16.self), let safi = value.readInteger(as: UInt8.self),
                    let flags = value.readInteger(as: UInt8.self)
                {
                    families.append(.init(family: AddressFamily(afi: afi, safi: safi), forwardingStatePreserved: flags & 0x80 != 0))
                }
                capabilities.append(.gracefulRestart(GracefulRestart(
                    restarting: header & 0x8000 != 0, restartTime: header & 0x0FFF, families: families)))
            case 65:
                guard length == 4, let asNumber = value.readInteger(as: UInt32.self) else {
                    throw BGPError.reset(2, 0, "4-octet AS capability length \(length) is not 4")
                }
                capabilities.append(.fourOctetAS(asNumber))
            default:
                capabilities.append(.unknown(code: code, value: value.readBytes(length: value.readableBytes) ?? []))
            }
        }
        return capabilities
    }
}
