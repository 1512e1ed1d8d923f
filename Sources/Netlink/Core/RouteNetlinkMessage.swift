internal import CNetlink
import NetPrimitives

/// One encoded netlink request, ready to be sent (its sequence number is patched in by the
/// socket), and a description of the operation for errors, computed only when needed.
package struct NetlinkRequest: Sendable {
    package var bytes: [UInt8]
    package let operation: @Sendable () -> String

    package init(bytes: [UInt8], operation: @escaping @Sendable () -> String) {
        self.bytes = bytes
        self.operation = operation
    }
}

/// Builds one request on a libnl message (`nlmsg_alloc_simple`, `nlmsg_append`, `nla_put`,
/// `nla_nest_start`). The libnl message is owned here and freed in `deinit`.
final class RouteNetlinkMessageBuilder {
    private let message: OpaquePointer
    private var overflowed = false

    /// `flags` are the NLM_F_* bits besides NLM_F_REQUEST, which is always set.
    init(type: Int, flags: Int) {
        guard let message = nlmsg_alloc_simple(Int32(type), Int32(flags | RouteNetlinkConstant.NLM_F_REQUEST)) else {
            fatalError("libnl could not allocate a netlink message (out of memory)")
        }
        self.message = message
    }

    deinit { nlmsg_free(message) }

    /// Appends a fixed header (ifinfomsg, rtmsg, ...) given as raw bytes, padded to 4 bytes.
    func appendHeader(_ bytes: [UInt8]) {
        var copy = bytes
        let result = copy.withUnsafeMutableBytes { raw in
            nlmsg_append(message, raw.baseAddress, raw.count, 4)
        }
        if result < 0 { overflowed = true }
    }

    func put(_ type: Int, bytes: [UInt8]) {
        let result = bytes.withUnsafeBytes { raw in
            nla_put(message, Int32(type), Int32(raw.count), raw.baseAddress)
        }
        if result < 0 { overflowed = true }
    }

    func put(_ type: Int, uint8 value: UInt8) { put(type, bytes: [value]) }
    func put(_ type: Int, uint16 value: UInt16) { put(type, bytes: RouteNetlinkBytes.encode(value)) }
    func put(_ type: Int, uint32 value: UInt32) { put(type, bytes: RouteNetlinkBytes.encode(value)) }
    func put(_ type: Int, int32 value: Int32) { put(type, bytes: RouteNetlinkBytes.encode(UInt32(bitPattern: value))) }
    /// A 16-bit value in network byte order (UDP ports).
    func put(_ type: Int, bigEndian value: UInt16) { put(type, bytes: [UInt8(value >> 8), UInt8(value & 0xFF)]) }
    /// A NUL-terminated string.
    func put(_ type: Int, string: String) { put(type, bytes: Array(string.utf8) + [0]) }
    func put(_ type: Int, address: IPAddress) { put(type, bytes: address.bytes) }
    func putFlag(_ type: Int) { put(type, bytes: []) }

    /// A nested attribute: what `body` puts goes inside it.
    func nested(_ type: Int, _ body: () -> Void) {
        guard let start = nla_nest_start(message, Int32(type)) else {
            overflowed = true
            return
        }
        body()
        if nla_nest_end(message, start) < 0 { overflowed = true }
    }

    /// The finished request. Throws when an attribute did not fit (never for sane input).
    func finish(_ operation: @escaping @Sendable () -> String) throws -> NetlinkRequest {
        guard !overflowed else {
            throw NetlinkError(.invalidArgument, operation: operation() + " (request too large)")
        }
        let header = nlmsg_hdr(message)!
        let length = Int(header.pointee.nlmsg_len)
        let bytes = Array(UnsafeRawBufferPointer(start: UnsafeRawPointer(header), count: length))
        return NetlinkRequest(bytes: bytes, operation: operation)
    }
}

/// Little-endian (host order on Linux x86_64/arm64) encoding and decoding of integers.
enum RouteNetlinkBytes {
    static func encode(_ value: UInt16) -> [UInt8] { [UInt8(value & 0xFF), UInt8(value >> 8)] }
    static func encode(_ value: UInt32) -> [UInt8] {
        [UInt8(value & 0xFF), UInt8((value >> 8) & 0xFF), UInt8((value >> 16) & 0xFF), UInt8(value >> 24)]
    }
    static func encode(_ value: Int32) -> [UInt8] { encode(UInt32(bitPattern: value)) }

    static func uint16(_ bytes: ArraySlice<UInt8>, at offset: Int = 0) -> UInt16 {
        let start = bytes.startIndex + offset
        guard bytes.endIndex - start >= 2 else { return 0 }
        return UInt16(bytes[start]) | UInt16(bytes[start + 1]) << 8
    }

    static func uint32(_ bytes: ArraySlice<UInt8>, at offset: Int = 0) -> UInt32 {
        let start = bytes.startIndex + offset
        guard bytes.endIndex - start >= 4 else { return 0 }
        return UInt32(bytes[start]) | UInt32(bytes[start + 1]) << 8
            | UInt32(bytes[start + 2]) << 16 | UInt32(bytes[start + 3]) << 24
    }

    static func int32(_ bytes: ArraySlice<UInt8>, at offset: Int = 0) -> Int32 {
        Int32(bitPattern: uint32(bytes, at: offset))
    }

    static func aligned(_ length: Int) -> Int { (length + 3) & ~3 }
}
