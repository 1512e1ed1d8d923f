import NIOCore
import NetPrimitives

/// An OPEN message (RFC 4271 §4.2) with its capabilities (RFC 5492).
public struct OpenMessage: Hashable, Sendable {
    /// The 2-octet "My Autonomous System" field: the ASN, or AS_TRANS (23456) when the ASN
    /// needs 4 octets (RFC 6793).
    public var myAutonomousSystem: UInt16
    /// Proposed hold time in seconds: 0 or at least 3.
    public var holdTime: UInt16
    /// The BGP identifier (router ID).
    public var identifier: IPv4Address
    public var capabilities: [Capability]

    /// AS_TRANS, the placeholder ASN of RFC 6793.
    public static let asTrans: UInt16 = 23456

    public init(myAutonomousSystem: UInt16, holdTime: UInt16, identifier: IPv4Address, capabilities: [Capability]) {
        self.myAutonomousSystem = myAutonomousSystem
        self.holdTime = holdTime
        self.identifier = identifier
        self.capabilities = capabilities
    }

    /// An OPEN for `asNumber`, filling in AS_TRANS and the 4-octet AS capability.
    public init(asNumber: UInt32, holdTime: UInt16, identifier: IPv4Address, capabilities: [Capability]) {
        let small = asNumber <= 0xFFFF ? UInt16(asNumber) : OpenMessage.asTrans
        var all = capabilities.filter { if case .fourOctetAS = $0 { false } else { true } }
        all.append(.fourOctetAS(asNumber))
        self.init(myAutonomousSystem: small, holdTime: holdTime, identifier: identifier, capabilities: all)
    }

    /// The sender's real ASN: from the 4-octet AS capability when present.
    public var asNumber: UInt32 {
        for case .fourOctetAS(let value) in capabilities { return value }
        return UInt32(myAutonomousSystem)
    }

    /// Whether the sender announced 4-octet AS support.
    public var supportsFourOctetAS: Bool {
        capabilities.contains { if case .fourOctetAS = $0 { true } else { false } }
    }

    /// The address families announced with the multiprotocol capability; IPv4 unicast when none
    /// (RFC 4760 §8).
    public var families: [AddressFamily] {
        var result: [AddressFamily] = []
        for case .multiprotocol(let family) in capabilities { result.append(family) }
        return result.isEmpty && !capabilities.contains(where: { if case .multiprotocol = $0 { true } else { false } })
            ? [.ipv4Unicast] : result
    }

    /// The graceful-restart capability, when announced.
    public var gracefulRestart: Capability.GracefulRestart? {
        for case .gracefulRestart(let value) in capabilities { return value }
        return nil
    }

    public var supportsRouteRefresh: Bool { capabilities.contains(.routeRefresh) }

    func write(to buffer: inout ByteBuffer) {
        buffer.writeInteger(UInt8(4))
        buffer.writeInteger(myAutonomousSystem)
        buffer.writeInteger(holdTime)
        buffer.writeInteger(identifier.value)
        let lengthIndex = buffer.writerIndex
        buffer.writeInteger(UInt8(0))
        // One capabilities parameter (type 2) per capability, as most speakers send.
        for capability in capabilities {
            buffer.writeInteger(UInt8(2))
            let parameterLength = buffer.writerIndex
            buffer.writeInteger(UInt8(0))
            capability.write(to: &buffer)
            buffer.setInteger(UInt8(buffer.writerIndex - parameterLength - 1), at: parameterLength)
        }
        buffer.setInteger(UInt8(buffer.writerIndex - lengthIndex - 1), at: lengthIndex)
    }

    /// Decodes and validates an OPEN body (RFC 4271 §6.2).
    static func read(from body: inout ByteBuffer) throws -> OpenMessage {
        guard let version = body.readInteger(as: UInt8.self), let myAS = body.readInteger(as: UInt16.self),
            let hold = body.readInteger(as: UInt16.self), let identifier = body.readInteger(as: UInt32.self),
            let parametersLength = body.readInteger(as: UInt8.self)
        else { throw BGPError.reset(1, 2, "OPEN shorter than 29 bytes") }
        guard version == 4 else {
            throw BGPError.reset(2, 1, "unsupported BGP version \(version)", data: [0, 4])
        }
        guard hold == 0 || hold >= 3 else { throw BGPError.reset(2, 6, "unacceptable hold time \(hold)") }
        guard identifier != 0 else { throw BGPError.reset(2, 3, "BGP identifier 0.0.0.0") }
        guard Int(parametersLength) == body.readableBytes, var parameters = body.readSlice(length: Int(parametersLength)) else {
            throw BGPError.reset(2, 0, "optional parameters length \(parametersLength) does not match the message")
        }
        var capabilities: [Capability] = []
        while parameters.readableBytes > 0 {
            guard let type = parameters.readInteger(as: UInt8.self), let length = parameters.readInteger(as: UInt8.self),
                var value = parameters.readSlice(length: Int(length))
            else { throw BGPError.reset(2, 0, "truncated optional parameter") }
            guard type == 2 else { throw BGPError.reset(2, 4, "unsupported optional parameter \(type)") }
            capabilities += try Capability.readAll(from: &value)
        }
        return OpenMessage(myAutonomousSystem: myAS, holdTime: hold, identifier: IPv4Address(identifier),
                           capabilities: capabilities)
    }
}
