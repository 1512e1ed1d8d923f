/// The `ipam` section of a network configuration: the delegated plugin's `type` and its own
/// keys, kept as JSON so nothing is lost on the way to the IPAM plugin.
public struct IPAMConfiguration: Hashable, Sendable, Codable {
    /// The IPAM plugin's executable name, searched on CNI_PATH.
    public var type: String
    /// Every other key of the section.
    public var additionalFields: [String: JSONValue]

    public init(type: String, additionalFields: [String: JSONValue] = [:]) {
        self.type = type
        self.additionalFields = additionalFields
    }

    /// The whole section decoded as a plugin's typed view (for an IPAM plugin's own options).
    public func decode<T: Decodable>(as type: T.Type = T.self) throws(CNIError) -> T {
        try JSONValue(encoding: self).decode(as: T.self)
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: DynamicKey.self)
        type = try container.decodeIfPresent(String.self, forKey: DynamicKey("type")) ?? ""
        additionalFields = try container.unknownMembers(excluding: ["type"])
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: DynamicKey.self)
        try container.encode(members: additionalFields)
        if !type.isEmpty { try container.encode(type, forKey: DynamicKey("type")) }
    }
}

/// An attachment that is still valid, as listed in a GC request's
/// `cni.dev/valid-attachments`.
public struct NetworkAttachment: Hashable, Sendable, Codable {
    /// CNI_CONTAINERID of the attachment's ADD.
    public var containerID: String
    /// CNI_IFNAME of the attachment's ADD (`ifname`).
    public var interfaceName: String

    public init(containerID: String, interfaceName: String) {
        self.containerID = containerID
        self.interfaceName = interfaceName
    }

    enum CodingKeys: String, CodingKey { case containerID, interfaceName = "ifname" }
}

/// The options type of a plugin without options of its own: every plugin-specific key
/// still rides along in ``NetworkConfiguration/additionalFields``.
public struct NoOptions: Hashable, Sendable, Codable {
    public init() {}
}
