/// The CNISpec module's error, and the CNI error document a plugin prints on stdout:
/// `{"cniVersion": "1.1.0", "code": 7, "msg": "...", "details": "..."}`.
///
/// Codes 0–99 are reserved by the specification (see ``Code``); 100 and above are free for
/// plugins.
public struct CNIError: Error, Hashable, Sendable, CustomStringConvertible {
    /// A CNI error code. Open: plugins define their own from 100 up.
    public struct Code: RawRepresentable, Hashable, Sendable, Codable, CustomStringConvertible {
        public var rawValue: UInt
        public init(rawValue: UInt) { self.rawValue = rawValue }
        public init(_ rawValue: UInt) { self.rawValue = rawValue }

        /// 1: the configuration's version is not one the plugin (or runtime) supports.
        public static let incompatibleVersion = Code(1)
        /// 2: a field of the network configuration is not supported (the message names it).
        public static let unsupportedField = Code(2)
        /// 3: the container is unknown or does not exist.
        public static let unknownContainer = Code(3)
        /// 4: a necessary environment variable is missing or invalid (the message names it).
        public static let invalidEnvironmentVariables = Code(4)
        /// 5: I/O failure, for example reading the configuration from stdin.
        public static let ioFailure = Code(5)
        /// 6: content could not be decoded (JSON, a version string, a result).
        public static let decodingFailure = Code(6)
        /// 7: the network configuration is invalid.
        public static let invalidNetworkConfig = Code(7)
        /// 11: a transient condition; try again later.
        public static let tryAgainLater = Code(11)
        /// 50: the plugin cannot service ADD requests (STATUS).
        public static let pluginNotAvailable = Code(50)
        /// 51: the plugin cannot service ADD, and existing containers may have limited connectivity.
        public static let limitedConnectivity = Code(51)
        /// 999: an internal error, as the reference library reports errors without a code.
        public static let `internal` = Code(999)

        public var description: String { "\(rawValue)" }

        public init(from decoder: any Decoder) throws {
            rawValue = try decoder.singleValueContainer().decode(UInt.self)
        }

        public func encode(to encoder: any Encoder) throws {
            var container = encoder.singleValueContainer()
            try container.encode(rawValue)
        }
    }

    public var code: Code
    /// The short message (`msg`).
    public var message: String
    /// The longer explanation (`details`), if any.
    public var details: String?
    /// The protocol version in use when printed by a plugin.
    public var cniVersion: String?

    public init(_ code: Code, _ message: String, details: String? = nil, cniVersion: String? = nil) {
        self.code = code
        self.message = message
        self.details = details
        self.cniVersion = cniVersion
    }

    public var description: String {
        guard let details, !details.isEmpty else { return "CNI error \(code): \(message)" }
        return "CNI error \(code): \(message); \(details)"
    }
}

extension CNIError: Codable {
    enum CodingKeys: String, CodingKey {
        case cniVersion, code, message = "msg", details
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        code = try container.decode(Code.self, forKey: .code)
        message = try container.decodeIfPresent(String.self, forKey: .message) ?? ""
        details = try container.decodeIfPresent(String.self, forKey: .details)
        cniVersion = try container.decodeIfPresent(String.self, forKey: .cniVersion)
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encodeIfPresent(cniVersion, forKey: .cniVersion)
        try container.encode(code, forKey: .code)
        try container.encode(message, forKey: .message)
        if let details, !details.isEmpty { try container.encode(details, forKey: .details) }
    }
}
