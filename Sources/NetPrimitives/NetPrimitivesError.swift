/// The error every parser in NetPrimitives throws: what was being parsed, and the offending text.
public struct NetPrimitivesError: Error, Hashable, Sendable, CustomStringConvertible {
    /// What kind of value failed to parse or validate. Extensible: new codes may be added.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        public let name: String
        public init(_ name: String) { self.name = name }
        public var description: String { name }

        public static let invalidIPv4Address = Code("invalid IPv4 address")
        public static let invalidIPv6Address = Code("invalid IPv6 address")
        public static let invalidIPAddress = Code("invalid IP address")
        public static let invalidNetwork = Code("invalid CIDR network")
        public static let invalidPrefixLength = Code("invalid prefix length")
        public static let invalidMACAddress = Code("invalid MAC address")
        public static let invalidInterfaceName = Code("invalid interface name")
        public static let familyMismatch = Code("address family mismatch")
    }

    public let code: Code
    /// The text (or value) that was rejected.
    public let input: String
    /// Why, when more can be said than the code.
    public let reason: String?

    public init(_ code: Code, input: String, reason: String? = nil) {
        self.code = code
        self.input = input
        self.reason = reason
    }

    public var description: String {
        if let reason { return "\(code) \"\(input)\": \(reason)" }
        return "\(code) \"\(input)\""
    }
}

/// Decodes a value that is spelled as one string in JSON (as every address in the CNI spec is).
@usableFromInline
func decodeFromString<T>(
    _ decoder: any Decoder, _ parse: (String) throws -> T
) throws -> T {
    let container = try decoder.singleValueContainer()
    let text = try container.decode(String.self)
    do {
        return try parse(text)
    } catch let error as NetPrimitivesError {
        throw DecodingError.dataCorruptedError(in: container, debugDescription: error.description)
    }
}
