/// One plugin's request configuration, as a plugin reads it from stdin.
///
/// The protocol's keys are typed. A plugin's own keys come in two ways at once: typed, through
/// `Options` (decoded from the same JSON object, so declare them as top-level members), and
/// untyped in ``additionalFields``, which holds every key the protocol does not define. On
/// encoding, `additionalFields` is written first, then `Options`, then the protocol's keys, so
/// unknown keys survive a round trip and typed values win.
///
/// ```swift
/// struct BridgeOptions: Codable, Sendable { var bridge: String?; var isGateway: Bool? }
/// let config = try NetworkConfiguration<BridgeOptions>(decoding: stdin)
/// print(config.options.bridge ?? "cni0", config.ipam?.type ?? "none")
/// ```
public struct NetworkConfiguration<Options: Codable & Sendable>: Sendable {
    public var cniVersion: String?
    /// All versions this configuration supports (conflists; see ``NetworkConfigurationList``).
    public var cniVersions: [String]?
    public var name: String?
    public var type: String?
    public var disableCheck: Bool?
    public var disableGC: Bool?
    /// Capabilities this plugin declares (`{"portMappings": true}`); removed by the runtime.
    public var capabilities: [String: Bool]?
    /// Capability arguments injected by the runtime for declared capabilities.
    public var runtimeConfig: [String: JSONValue]?
    /// Extra arguments (`args`, by convention `{"cni": {...}}`).
    public var args: JSONValue?
    public var ipMasq: Bool?
    public var ipam: IPAMConfiguration?
    public var dns: DNS?
    /// The previous plugin's result, kept as JSON so it passes through unchanged; decode it
    /// with ``previousResult()``.
    public var prevResult: JSONValue?
    /// `cni.dev/valid-attachments` of a GC request.
    public var validAttachments: [NetworkAttachment]?
    /// The plugin's typed options.
    public var options: Options
    /// Every key that is not a protocol key (including the ones `Options` also reads).
    public var additionalFields: [String: JSONValue]

    public init(
        cniVersion: String? = nil, name: String? = nil, type: String? = nil, options: Options,
        additionalFields: [String: JSONValue] = [:]
    ) {
        self.cniVersion = cniVersion
        self.name = name
        self.type = type
        self.options = options
        self.additionalFields = additionalFields
    }

    /// Decodes a configuration; failures are ``CNIError/Code/decodingFailure`` (6).
    public init(decoding bytes: some Collection<UInt8>) throws(CNIError) {
        self = try CNIJSON.decode(Self.self, from: bytes)
    }

    /// The JSON document.
    public func encoded() throws(CNIError) -> [UInt8] { try CNIJSON.encode(self) }

    /// The parsed `cniVersion` ("0.1.0" when absent, as the reference library assumes).
    public func version() throws(CNIError) -> CNIVersion {
        guard let cniVersion, !cniVersion.isEmpty else { return .v0_1_0 }
        return try CNIVersion(parsing: cniVersion)
    }

    /// `runtimeConfig` as the conventions' capability arguments (empty when absent); a
    /// malformed one is ``CNIError/Code/decodingFailure`` (6).
    public func runtimeCapabilities() throws(CNIError) -> RuntimeCapabilities {
        guard let runtimeConfig else { return RuntimeCapabilities() }
        return try CNIJSON.decode(RuntimeCapabilities.self, from: CNIJSON.encode(JSONValue.object(runtimeConfig)))
    }

    /// `prevResult` decoded in the layout of this configuration's version.
    public func previousResult() throws(CNIError) -> AnyCNIResult? {
        guard let prevResult, prevResult != .null else { return nil }
        return try AnyCNIResult(prevResult, assumingVersion: version())
    }

    /// The protocol's keys.
    static var protocolKeys: Set<String> {
        [
            "cniVersion", "cniVersions", "name", "type", "disableCheck", "disableGC", "capabilities",
            "runtimeConfig", "args", "ipMasq", "ipam", "dns", "prevResult", "cni.dev/valid-attachments",
        ]
    }
}

extension NetworkConfiguration where Options == NoOptions {
    public init(cniVersion: String? = nil, name: String? = nil, type: String? = nil, additionalFields: [String: JSONValue] = [:]) {
        self.init(cniVersion: cniVersion, name: name, type: type, options: NoOptions(), additionalFields: additionalFields)
    }
}

extension NetworkConfiguration: Equatable where Options: Equatable {}

extension NetworkConfiguration: Codable {
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: DynamicKey.self)
        func value<T: Decodable>(_ key: String, _ type: T.Type = T.self) throws -> T? {
            try container.decodeIfPresent(T.self, forKey: DynamicKey(key))
        }
        cniVersion = try value("cniVersion")
        cniVersions = try value("cniVersions")
        name = try value("name")
        type = try value("type")
        disableCheck = try value("disableCheck")
        disableGC = try value("disableGC")
        capabilities = try value("capabilities")
        runtimeConfig = try value("runtimeConfig")
        args = try value("args")
        ipMasq = try value("ipMasq")
        ipam = try value("ipam")
        dns = try value("dns")
        prevResult = try value("prevResult")
        validAttachments = try value("cni.dev/valid-attachments")
        additionalFields = try container.unknownMembers(excluding: Self.protocolKeys)
        options = try Options(from: decoder)
    }

    public func encode(to encoder: any Encoder) throws {
        do {
            var container = encoder.container(keyedBy: DynamicKey.self)
            try container.encode(members: additionalFields)
        }
        try options.encode(to: encoder)
        var container = encoder.container(keyedBy: DynamicKey.self)
        func put<T: Encodable>(_ value: T?, _ key: String) throws {
            try container.encodeIfPresent(value, forKey: DynamicKey(key))
        }
        try put(cniVersion, "cniVersion")
        try put(cniVersions, "cniVersions")
        try put(name, "name")
        try put(type, "type")
        try put(disableCheck, "disableCheck")
        try put(disableGC, "disableGC")
        try put(capabilities, "capabilities")
        try put(runtimeConfig, "runtimeConfig")
        try put(args, "args")
        try put(ipMasq, "ipMasq")
        try put(ipam, "ipam")
        try put(dns, "dns")
        try put(prevResult, "prevResult")
        try put(validAttachments, "cni.dev/valid-attachments")
    }
}
