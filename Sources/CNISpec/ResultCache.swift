#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// The runtime's store of ADD results, needed by DEL and CHECK: one file per attachment,
/// `<directory>/results/<network>-<containerID>-<ifname>`, as libcni lays it out.
public struct ResultCache: Sendable {
    public var directory: String

    public init(directory: String) { self.directory = directory }

    /// One cached attachment.
    public struct Entry: Hashable, Sendable, Codable {
        public var kind = "cniCacheV1"
        public var containerID: String
        public var interfaceName: String
        public var networkName: String
        public var result: JSONValue

        enum CodingKeys: String, CodingKey {
            case kind, containerID = "containerId", interfaceName = "ifName", networkName, result
        }
    }

    private var resultsDirectory: String { directory + "/results" }

    func path(network: String, attachment: NetworkAttachment) -> String {
        "\(resultsDirectory)/\(network)-\(attachment.containerID)-\(attachment.interfaceName)"
    }

    public func store(network: String, attachment: NetworkAttachment, result: JSONValue) throws(CNIError) {
        let entry = Entry(
            containerID: attachment.containerID, interfaceName: attachment.interfaceName, networkName: network,
            result: result)
        let bytes = try CNIJSON.encode(entry)
        do {
            try FileManager.default.createDirectory(atPath: resultsDirectory, withIntermediateDirectories: true)
            try Data(bytes).write(to: URL(filePath: path(network: network, attachment: attachment)), options: .atomic)
        } catch {
            throw CNIError(.ioFailure, "failed to cache result in \(resultsDirectory)", details: "\(error)")
        }
    }

    public func load(network: String, attachment: NetworkAttachment) throws(CNIError) -> Entry? {
        let file = path(network: network, attachment: attachment)
        guard FileManager.default.fileExists(atPath: file) else { return nil }
        let bytes: Data
        do {
            bytes = try Data(contentsOf: URL(filePath: file))
        } catch {
            throw CNIError(.ioFailure, "failed to read cached result \(file)", details: "\(error)")
        }
        return try CNIJSON.decode(Entry.self, from: bytes)
    }

    public func remove(network: String, attachment: NetworkAttachment) {
        try? FileManager.default.removeItem(atPath: path(network: network, attachment: attachment))
    }

    /// Every cached attachment of `network`.
    public func entries(network: String) -> [Entry] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: resultsDirectory)) ?? []
        return names.filter { $0.hasPrefix(network + "-") }.compactMap { name in
            guard let bytes = try? Data(contentsOf: URL(filePath: "\(resultsDirectory)/\(name)")) else { return nil }
            return (try? CNIJSON.decode(Entry.self, from: bytes)).flatMap { $0.networkName == network ? $0 : nil }
        }
    }
}
