import NetPrimitives

/// One message received from the kernel: its header fields, the whole message and its payload
/// (what follows the 16-byte nlmsghdr).
package struct NetlinkReply: Sendable {
    package let type: Int
    package let flags: Int
    package let sequence: UInt32
    /// The whole message, header included (for a C decoder that takes an `nlmsghdr`).
    package let message: ArraySlice<UInt8>
    /// What follows the header.
    package var payload: ArraySlice<UInt8> { message.dropFirst(16) }

    /// Splits one datagram into messages. Truncated trailing bytes are ignored.
    static func split(_ datagram: ArraySlice<UInt8>) -> [NetlinkReply] {
        var replies: [NetlinkReply] = []
        var offset = datagram.startIndex
        while datagram.endIndex - offset >= 16 {
            let header = datagram[offset...]
            let length = Int(RouteNetlinkBytes.uint32(header))
            guard length >= 16, offset + length <= datagram.endIndex else { break }
            replies.append(NetlinkReply(
                type: Int(RouteNetlinkBytes.uint16(header, at: 4)),
                flags: Int(RouteNetlinkBytes.uint16(header, at: 6)),
                sequence: RouteNetlinkBytes.uint32(header, at: 8),
                message: datagram[offset..<(offset + length)]))
            offset += RouteNetlinkBytes.aligned(length)
        }
        return replies
    }

    /// The attributes after a fixed header of `headerSize` bytes.
    func attributes(after headerSize: Int) -> RouteNetlinkAttributes {
        let start = payload.startIndex + RouteNetlinkBytes.aligned(headerSize)
        guard start <= payload.endIndex else { return RouteNetlinkAttributes(payload[payload.endIndex...]) }
        return RouteNetlinkAttributes(payload[start...])
    }
}

/// The attributes (type-length-value) of one message or one nested attribute, by type.
/// The NLA_F_NESTED and NLA_F_NET_BYTEORDER bits are masked off the type.
struct RouteNetlinkAttributes: Sendable {
    private var values: [Int: ArraySlice<UInt8>] = [:]
    /// Every attribute in order (for lists of equal types).
    private(set) var ordered: [(type: Int, value: ArraySlice<UInt8>)] = []

    init(_ bytes: ArraySlice<UInt8>) {
        var offset = bytes.startIndex
        while bytes.endIndex - offset >= 4 {
            let length = Int(RouteNetlinkBytes.uint16(bytes, at: offset - bytes.startIndex))
            let type = Int(RouteNetlinkBytes.uint16(bytes, at: offset - bytes.startIndex + 2)) & 0x3FFF
            guard length >= 4, offset + length <= bytes.endIndex else { break }
            let value = bytes[(offset + 4)..<(offset + length)]
            values[type] = value
            ordered.append((type, value))
            offset += RouteNetlinkBytes.aligned(length)
        }
    }

    subscript(type: Int) -> ArraySlice<UInt8>? { values[type] }
    func has(_ type: Int) -> Bool { values[type] != nil }
    func uint8(_ type: Int) -> UInt8? { values[type].flatMap { $0.first } }
    func uint16(_ type: Int) -> UInt16? { values[type].map { RouteNetlinkBytes.uint16($0) } }
    func uint32(_ type: Int) -> UInt32? { values[type].map { RouteNetlinkBytes.uint32($0) } }
    func bigEndianUInt16(_ type: Int) -> UInt16? {
        guard let value = values[type], value.count >= 2 else { return nil }
        return UInt16(value[value.startIndex]) << 8 | UInt16(value[value.startIndex + 1])
    }
    func string(_ type: Int) -> String? {
        values[type].map { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
    }
    func address(_ type: Int) -> IPAddress? { values[type].flatMap { IPAddress(bytes: $0) } }
    func macAddress(_ type: Int) -> MACAddress? { values[type].flatMap { MACAddress(bytes: $0) } }
    func nested(_ type: Int) -> RouteNetlinkAttributes? { values[type].map { RouteNetlinkAttributes($0) } }
}
