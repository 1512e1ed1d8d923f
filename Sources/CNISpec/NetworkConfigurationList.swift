#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// A network configuration list (a "conflist"): the network's name, its versions and the
/// plugins to run in order. Plugin objects stay JSON, because the runtime must pass their
/// unknown keys through unchanged.
public struct NetworkConfigurationList: Hashable, Sendable {
    public var cniVersion: String?
    public var cniVersions: [String]?
    public var name: String
    public var disableCheck: Bool
    public var disableGC: Bool
    public var loadOnlyInlinedPlugins: Bool?
    /// The plugin configuration objects, in ADD order.
    public var plugins: [[String: JSONValue]]
    /// Any other top-level key.
    public var additionalFields: [String: JSONValue]

    public init(
        cniVersion: String?, cniVersions: [String]? = nil, name: String, disableCheck: Bool = false,
        disableGC: Bool = false, plugins: [[String: JSONValue]]
    ) {
        self.cniVersion = cniVersion
        self.cniVersions = cniVersions
        self.name = name
        self.disableCheck = disableCheck
        self.disableGC = disableGC
        self.plugins = plugins
        self.additionalFields = [:]
    }

    /// Parses and validates a conflist; a document without `plugins` is taken as a single
    /// plugin configuration (a ".conf"), as libcni does.
    public init(decoding bytes: some Collection<UInt8>) throws(CNIError) {
        let object = try CNIJSON.decode([String: JSONValue].self, from: bytes)
        if object["plugins"] == nil {
            self.init(
                cniVersion: object["cniVersion"]?.stringValue, name: object["name"]?.stringValue ?? "",
                plugins: [object])
        } else {
            self = try CNIJSON.decode(NetworkConfigurationList.self, from: bytes)
        }
        try validate()
    }

    /// Reads and parses a conflist (or .conf) file.
    public init(contentsOfFile path: String) throws(CNIError) {
        let bytes: Data
        do {
            bytes = try Data(contentsOf: URL(filePath: path))
        } catch {
            throw CNIError(.ioFailure, "cannot read network configuration \(path)", details: "\(error)")
        }
        try self.init(decoding: bytes)
    }

    /// The network name rule of the specification (the container ID rule).
    public func validate() throws(CNIError) {
        guard ContainerID.isValid(name) else {
            throw CNIError(.invalidNetworkConfig, "invalid network name \"\(name)\"")
        }
        guard !plugins.isEmpty else {
            throw CNIError(.invalidNetworkConfig, "network \"\(name)\" has no plugins")
        }
        for (index, plugin) in plugins.enumerated() {
            guard let type = plugin["type"]?.stringValue, !type.isEmpty, !type.contains("/"), !type.contains("\\") else {
                throw CNIError(.invalidNetworkConfig, "plugin \(index) of network \"\(name)\" has no valid type")
            }
        }
    }

    /// The version to run with: the highest of `cniVersion` and `cniVersions` that this SDK
    /// implements (and that is at most `maximum`), as the specification requires.
    public func selectVersion(maximum: CNIVersion = .latest) throws(CNIError) -> CNIVersion {
        let candidates = ([cniVersion ?? "0.1.0"] + (cniVersions ?? [])).compactMap { try? CNIVersion(parsing: $0) }
        guard let best = candidates.filter({ CNIVersion.all.contains($0) && $0 <= maximum }).max() else {
            throw CNIError(
                .incompatibleVersion, "incompatible CNI versions",
                details: "network \"\(name)\" has \([cniVersion ?? ""] + (cniVersions ?? [])), runtime supports up to \(maximum)")
        }
        return best
    }

    /// The document.
    public func encoded() throws(CNIError) -> [UInt8] { try CNIJSON.encode(self) }
}

extension NetworkConfigurationList: Codable {
    static let keys: Set<String> = ["cniVersion", "cniVersions", "name", "disableCheck", "disableGC", "loadOnlyInlinedPlugins", "plugins"]

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: DynamicKey.self)
        cniVersion = try container.decodeIfPresent(String.self, forKey: DynamicKey("cniVersion"))
        cniVersions = try container.decodeIfPresent([String].self, forKey: DynamicKey("cniVersions"))
        name = try container.decodeIfPresent(String.self, forKey: DynamicKey("name")) ?? ""
        disableCheck = try Self.flag("disableCheck", in: container) ?? false
        disableGC = try Self.flag("disableGC", in: container) ?? false
        loadOnlyInlinedPlugins = try Self.flag("loadOnlyInlinedPlugins", in: container)
        plugins = try container.decodeIfPresent([[String: JSONValue]].self, forKey: DynamicKey("plugins")) ?? []
        additionalFields = try container.unknownMembers(excluding: Self.keys)
    }

    /// A boolean key, also given as the string "true" or "false" in any case (libcni reads both).
    static func flag(_ key: String, in container: KeyedDecodingContainer<DynamicKey>) throws -> Bool? {
        let key = DynamicKey(key)
        guard container.contains(key) else { return nil }
        if let value = try? container.decode(Bool.self, forKey: key) { return value }
        switch try container.decode(String.self, forKey: key).lowercased() {
        case "true": return true
        case "false": return false
        default:
            throw DecodingError.dataCorruptedError(forKey: key, in: container, debugDescription: "\(key.stringValue) must be true or false")
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: DynamicKey.self)
        try container.encode(members: additionalFields)
        try container.encodeIfPresent(cniVersion, forKey: DynamicKey("cniVersion"))
        try container.encodeIfPresent(cniVersions, forKey: DynamicKey("cniVersions"))
        try container.encode(name, forKey: DynamicKey("name"))
        if disableCheck { try container.encode(true, forKey: DynamicKey("disableCheck")) }
        if disableGC { try container.encode(true, forKey: DynamicKey("disableGC")) }
        try container.encodeIfPresent(loadOnlyInlinedPlugins, forKey: DynamicKey("loadOnlyInlinedPlugins"))
        try container.encode(plugins, forKey: DynamicKey("plugins"))
    }
}
