/// A Linux network interface name, validated as the kernel and the CNI spec require:
/// 1–15 bytes (IFNAMSIZ less the terminator), not "." or "..", and no "/", ":" or whitespace.
///
/// libnl silently truncates longer names, so every API that names a device takes this type and
/// the check happens before any system call.
public struct InterfaceName: Hashable, Comparable, Sendable {
    /// The longest name the kernel accepts, in bytes.
    public static let maximumLength = 15

    public let value: String

    public init(_ value: String) throws {
        let bytes = value.utf8
        func fail(_ reason: String) -> NetPrimitivesError {
            NetPrimitivesError(.invalidInterfaceName, input: value, reason: reason)
        }
        guard !bytes.isEmpty else { throw fail("empty") }
        guard bytes.count <= InterfaceName.maximumLength else {
            throw fail("\(bytes.count) bytes, more than \(InterfaceName.maximumLength)")
        }
        guard value != ".", value != ".." else { throw fail("reserved name") }
        for byte in bytes {
            switch byte {
            case UInt8(ascii: "/"), UInt8(ascii: ":"): throw fail("contains '\(Character(Unicode.Scalar(byte)))'")
            case UInt8(ascii: " "), 0x09...0x0D, 0: throw fail("contains whitespace or NUL")
            default: continue
            }
        }
        self.value = value
    }

    public static func < (lhs: InterfaceName, rhs: InterfaceName) -> Bool { lhs.value < rhs.value }
}

extension InterfaceName: CustomStringConvertible {
    public var description: String { value }
}

extension InterfaceName: Codable {
    public init(from decoder: any Decoder) throws {
        self = try decodeFromString(decoder) { try InterfaceName($0) }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(value)
    }
}

extension InterfaceName: ExpressibleByStringLiteral {
    /// For literals in code and tests (`"eth0"`); traps on an invalid literal. Note that
    /// `InterfaceName("x")` with a literal argument is this literal, not the throwing
    /// initializer: validate runtime text with `try InterfaceName(text)` on a `String` value.
    public init(stringLiteral value: String) {
        guard let name = try? InterfaceName(value) else { preconditionFailure("invalid interface name literal \(value)") }
        self = name
    }
}
