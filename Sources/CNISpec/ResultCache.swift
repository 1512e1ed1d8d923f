#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import NetPrimitives

/// The runtime's store of ADD results and of what DEL needs after a restart: one file per
/// attachment, `<directory>/results/<network>-<containerID>-<ifname>`, in libcni's layout and
/// format (`cniCacheV1`: the network configuration, the namespace path, `CNI_ARGS` and the
/// capability arguments beside the result; files 0600 in a 0700 directory), so a runtime built
/// on this SDK and one built on libcni can read each other's cache.
public struct ResultCache: Sendable {
    public var directory: String

    public init(directory: String) { self.directory = directory }

    /// One cached attachment.
    public struct Entry: Hashable, Sendable {
        public static let kind = "cniCacheV1"
        public var kind = Entry.kind
        public var containerID: String
        public var interfaceName: String
        public var networkName: String
        /// The network configuration the attachment was added with (libcni stores the list's
        /// bytes; JSON carries them in base64, as Go encodes a byte slice).
        public var configuration: [UInt8]?
        /// CNI_NETNS of the ADD.
        public var networkNamespace: String?
        /// CNI_ARGS of the ADD.
        public var arguments: CNIArguments?
        /// The capability arguments the runtime offered at ADD.
        public var capabilityArguments: [String: JSONValue]?
        public var result: JSONValue?

        public init(
            containerID: String, interfaceName: String, networkName: String, configuration: [UInt8]? = nil,
            networkNamespace: String? = nil, arguments: CNIArguments? = nil,
            capabilityArguments: [String: JSONValue]? = nil, result: JSONValue? = nil
        ) {
            self.containerID = containerID
            self.interfaceName = interfaceName
            self.networkName = networkName
            self.configuration = configuration
            self.networkNamespace = networkNamespace
            self.arguments = arguments
            self.capabilityArguments = capabilityArguments
            self.result = result
        }

        /// The attachment as the runtime ran it at ADD (the namespace, arguments and
        /// capability arguments from the cache), for a DEL after a restart.
        public func runtimeAttachment() throws(CNIError) -> RuntimeAttachment {
            let name: InterfaceName
            do { name = try InterfaceName(interfaceName) } catch {
                throw CNIError(.decodingFailure, "cached attachment \(containerID) has an invalid interface name \"\(interfaceName)\"")
            }
            return RuntimeAttachment(
                containerID: containerID, networkNamespace: networkNamespace ?? "", interfaceName: name,
                arguments: arguments ?? CNIArguments(), capabilityArguments: capabilityArguments ?? [:])
        }

        /// The cached network configuration list (nil when the entry has none, as entries
        /// written before the configuration was cached).
        public func configurationList() throws(CNIError) -> NetworkConfigurationList? {
            guard let configuration else { return nil }
            return try NetworkConfigurationList(decoding: configuration)
        }
    }

    var resultsDirectory: String { directory + "/results" }

    func path(network: String, attachment: NetworkAttachment) -> String {
        "\(resultsDirectory)/\(network)-\(attachment.containerID)-\(attachment.interfaceName)"
    }

    /// Writes the entry (atomically, mode 0600, the directory 0700).
    public func store(_ entry: Entry) throws(CNIError) {
        let bytes = try CNIJSON.encode(entry)
        let file = path(network: entry.networkName, attachment: NetworkAttachment(containerID: entry.containerID, interfaceName: entry.interfaceName))
        do {
            try FileManager.default.createDirectory(
                atPath: resultsDirectory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
            try Data(bytes).write(to: URL(filePath: file), options: .atomic)
            try FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: file)
        } catch {
            throw CNIError(.ioFailure, "failed to cache result in \(resultsDirectory)", details: "\(error)")
        }
    }

    /// Writes a result alone (no configuration or runtime parameters).
    public func store(network: String, attachment: NetworkAttachment, result: JSONValue) throws(CNIError) {
        try store(Entry(containerID: attachment.containerID, interfaceName: attachment.interfaceName, networkName: network, result: result))
    }

    /// The cached entry; nil when there is none. A file that is not a `cniCacheV1` entry is an
    /// error naming it.
    public func load(network: String, attachment: NetworkAttachment) throws(CNIError) -> Entry? {
        let file = path(network: network, attachment: attachment)
        guard FileManager.default.fileExists(atPath: file) else { return nil }
        let bytes: Data
        do {
            bytes = try Data(contentsOf: URL(filePath: file))
        } catch {
            throw CNIError(.ioFailure, "failed to read cached result \(file)", details: "\(error)")
        }
        let entry: Entry
        do {
            entry = try CNIJSON.decode(Entry.self, from: bytes)
        } catch {
            throw CNIError(.decodingFailure, "cached result \(file) is not a cniCacheV1 entry", details: error.details ?? error.message)
        }
        guard entry.kind == Entry.kind else {
            throw CNIError(.decodingFailure, "cached result \(file) has kind \"\(entry.kind)\", not \(Entry.kind)")
        }
        return entry
    }

    public func remove(network: String, attachment: NetworkAttachment) {
        try? FileManager.default.removeItem(atPath: path(network: network, attachment: attachment))
    }

    /// Every readable `cniCacheV1` entry, in file-name order, optionally only those of one
    /// container or one network (libcni's `GetCachedAttachments`: unreadable files and
    /// entries without a network or interface name are skipped).
    public func entries(containerID: String? = nil, network: String? = nil) -> [Entry] {
        let names = ((try? FileManager.default.contentsOfDirectory(atPath: resultsDirectory)) ?? []).sorted()
        return names.compactMap { name in
            if let containerID, !name.contains("-\(containerID)-") { return nil }
            guard let bytes = try? Data(contentsOf: URL(filePath: "\(resultsDirectory)/\(name)")),
                let entry = try? CNIJSON.decode(Entry.self, from: bytes), entry.kind == Entry.kind,
                !entry.networkName.isEmpty, !entry.interfaceName.isEmpty
            else { return nil }
            if let containerID, entry.containerID != containerID { return nil }
            if let network, entry.networkName != network { return nil }
            return entry
        }
    }

    /// Every cached attachment of `network`.
    public func entries(network: String) -> [Entry] { entries(containerID: nil, network: network) }
}

extension ResultCache.Entry: Codable {
    enum CodingKeys: String, CodingKey {
        case kind, containerID = "containerId", configuration = "config", interfaceName = "ifName", networkName
        case networkNamespace = "netns", arguments = "cniArgs", capabilityArguments = "capabilityArgs", result
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        kind = try container.decode(String.self, forKey: .kind)
        containerID = try container.decode(String.self, forKey: .containerID)
        interfaceName = try container.decodeIfPresent(String.self, forKey: .interfaceName) ?? ""
        networkName = try container.decodeIfPresent(String.self, forKey: .networkName) ?? ""
        if let text = try container.decodeIfPresent(String.self, forKey: .configuration) {
            guard let data = Data(base64Encoded: text) else {
                throw DecodingError.dataCorruptedError(forKey: .configuration, in: container, debugDescription: "config is not base64")
            }
            configuration = Array(data)
        }
        networkNamespace = try container.decodeIfPresent(String.self, forKey: .networkNamespace)
        if let pairs = try container.decodeIfPresent([[String]].self, forKey: .arguments) {
            arguments = CNIArguments(
                try pairs.map { pair in
                    guard pair.count == 2 else {
                        throw DecodingError.dataCorruptedError(forKey: .arguments, in: container, debugDescription: "cniArgs entries are [key, value]")
                    }
                    return CNIArguments.Pair(key: pair[0], value: pair[1])
                })
        }
        capabilityArguments = try container.decodeIfPresent([String: JSONValue].self, forKey: .capabilityArguments)
        result = try container.decodeIfPresent(JSONValue.self, forKey: .result)
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(kind, forKey: .kind)
        try container.encode(containerID, forKey: .containerID)
        // libcni always writes "config" (null when absent).
        if let configuration {
            try container.encode(Data(configuration).base64EncodedString(), forKey: .configuration)
        } else {
            try container.encodeNil(forKey: .configuration)
        }
        try container.encode(interfaceName, forKey: .interfaceName)
        try container.encode(networkName, forKey: .networkName)
        if let networkNamespace, !networkNamespace.isEmpty { try container.encode(networkNamespace, forKey: .networkNamespace) }
        if let arguments, !arguments.pairs.isEmpty {
            try container.encode(arguments.pairs.map { [$0.key, $0.value] }, forKey: .arguments)
        }
        if let capabilityArguments, !capabilityArguments.isEmpty {
            try container.encode(capabilityArguments, forKey: .capabilityArguments)
        }
        try container.encodeIfPresent(result, forKey: .result)
    }
}
