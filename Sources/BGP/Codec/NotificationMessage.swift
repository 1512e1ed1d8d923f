import NIOCore

/// A NOTIFICATION message (RFC 4271 §4.5): an error code, a subcode and diagnostic data.
/// The sender closes the connection right after it.
public struct NotificationMessage: Hashable, Sendable, CustomStringConvertible {
    public var errorCode: UInt8
    public var errorSubcode: UInt8
    public var data: [UInt8]

    public init(errorCode: UInt8, errorSubcode: UInt8, data: [UInt8] = []) {
        self.errorCode = errorCode
        self.errorSubcode = errorSubcode
        self.data = data
    }

    /// Error codes of RFC 4271 §4.5 and RFC 4486.
    public enum ErrorCode {
        public static let messageHeader: UInt8 = 1
        public static let openMessage: UInt8 = 2
        public static let updateMessage: UInt8 = 3
        public static let holdTimerExpired: UInt8 = 4
        public static let finiteStateMachine: UInt8 = 5
        public static let cease: UInt8 = 6
        public static let routeRefresh: UInt8 = 7
    }

    /// Cease subcodes (RFC 4486) used by the speaker.
    public enum CeaseSubcode {
        public static let maximumPrefixesReached: UInt8 = 1
        public static let administrativeShutdown: UInt8 = 2
        public static let peerDeconfigured: UInt8 = 3
        public static let administrativeReset: UInt8 = 4
        public static let connectionRejected: UInt8 = 5
        public static let connectionCollisionResolution: UInt8 = 7
    }

    /// The hold timer expired (RFC 4271 §6.5).
    public static let holdTimerExpired = NotificationMessage(errorCode: ErrorCode.holdTimerExpired, errorSubcode: 0)

    public var description: String {
        let names = [1: "message header error", 2: "OPEN message error", 3: "UPDATE message error",
                     4: "hold timer expired", 5: "finite state machine error", 6: "cease",
                     7: "route refresh message error"]
        return "NOTIFICATION \(errorCode)/\(errorSubcode) (\(names[Int(errorCode)] ?? "unknown"))"
    }

    func write(to buffer: inout ByteBuffer) {
        buffer.writeInteger(errorCode)
        buffer.writeInteger(errorSubcode)
        buffer.writeBytes(data)
    }

    static func read(from body: inout ByteBuffer) throws -> NotificationMessage {
        guard let code = body.readInteger(as: UInt8.self), let subcode = body.readInteger(as: UInt8.self) else {
            throw BGPError.reset(1, 2, "NOTIFICATION shorter than 21 bytes")
        }
        return NotificationMessage(errorCode: code, errorSubcode: subcode, data: body.readBytes(length: body.readableBytes) ?? [])
    }
}

/// A ROUTE-REFRESH message (RFC 2918): asks the peer to resend its Adj-RIB-Out for one
/// address family.
public struct RouteRefreshMessage: Hashable, Sendable {
    public var family: AddressFamily

    public init(family: AddressFamily) { self.family = family }

    func write(to buffer: inout ByteBuffer) {
        buffer.writeInteger(family.afi)
        buffer.writeInteger(UInt8(0))
        buffer.writeInteger(family.safi)
    }

    static func read(from body: inout ByteBuffer) throws -> RouteRefreshMessage {
        guard body.readableBytes == 4, let afi = body.readInteger(as: UInt16.self),
            body.readInteger(as: UInt8.self) != nil, let safi = body.readInteger(as: UInt8.self)
        else { throw BGPError.reset(1, 2, "ROUTE-REFRESH length is not 23") }
        return RouteRefreshMessage(family: AddressFamily(afi: afi, safi: safi))
    }
}

/// An AFI/SAFI pair (RFC 4760): which kind of routes a capability or attribute is about.
public struct AddressFamily: Hashable, Sendable, CustomStringConvertible {
    public var afi: UInt16
    public var safi: UInt8

    public init(afi: UInt16, safi: UInt8) {
        self.afi = afi
        self.safi = safi
    }

    public static let ipv4Unicast = AddressFamily(afi: 1, safi: 1)
    public static let ipv6Unicast = AddressFamily(afi: 2, safi: 1)

    public var description: String {
        switch self {
        case .ipv4Unicast: "ipv4-unicast"
        case .ipv6Unicast: "ipv6-unicast"
        default: "afi \(afi)/safi \(safi)"
        }
    }
}
