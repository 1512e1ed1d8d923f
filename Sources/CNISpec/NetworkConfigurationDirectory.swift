#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// A configuration directory (`/etc/cni/net.d` style), read as libcni reads it:
///
/// - Candidate files are the directory's non-directory entries whose extension (after the last
///   dot) is `.conf`, `.conflist` or `.json`, in byte order of their names.
/// - ``load(network:)`` finds a network by name as libcni's `LoadNetworkConf` does: first the
///   `.conflist` files in order, then the single-plugin `.conf` and `.json` files, each
///   wrapped into a list holding only its name and `cniVersion`.
/// - A `.conflist` gets, after its inline plugins, the plugin configurations found in the
///   per-network folder `<directory>/<network name>/*.conf` (in name order), unless it sets
///   `loadOnlyInlinedPlugins`. A list may leave out `plugins` when that folder provides them.
/// - ``networks()`` loads every file in order, as containerd's CNI library does at start-up;
///   the first is the default network. A file that does not parse is an error naming it.
public struct NetworkConfigurationDirectory: Sendable {
    public var path: String

    public init(path: String) { self.path = path }

    /// The candidate files with one of `extensions`, as full paths in name order (none when
    /// the directory does not exist).
    public func files(extensions: Set<String> = [".conf", ".conflist", ".json"]) throws(CNIError) -> [String] {
        try Self.files(in: path, extensions: extensions)
    }

    /// The network called `name`.
    public func load(network name: String) throws(CNIError) -> NetworkConfigurationList {
        let lists = try files(extensions: [".conflist"])
        for file in lists {
            let list = try Self.loadFile(file)
            if list.name == name { return list }
        }
        let singles = try files(extensions: [".conf", ".json"])
        guard !singles.isEmpty || !lists.isEmpty else {
            throw CNIError(.invalidNetworkConfig, "no net configurations found in \(path)")
        }
        for file in singles {
            let list = try Self.loadFile(file)
            if list.name == name { return list }
        }
        throw CNIError(.invalidNetworkConfig, "no net configuration with name \"\(name)\" in \(path)")
    }

    /// Every network of the directory, in file order; the first is the default network.
    public func networks() throws(CNIError) -> [NetworkConfigurationList] {
        try files().map { file throws(CNIError) in try Self.loadFile(file) }
    }

    /// One file: a `.conflist` (with its per-network folder) or a single-plugin `.conf` or
    /// `.json`, told apart by the extension as libcni does.
    public static func loadFile(_ file: String) throws(CNIError) -> NetworkConfigurationList {
        let bytes = try read(file)
        do {
            if file.hasSuffix(".conflist") { return try conflist(bytes, folder: directoryName(of: file)) }
            return try singlePlugin(bytes)
        } catch {
            var error = error
            error.message = "\(file): \(error.message)"
            throw error
        }
    }

    static func conflist(_ bytes: [UInt8], folder: String) throws(CNIError) -> NetworkConfigurationList {
        let object = try CNIJSON.decode([String: JSONValue].self, from: bytes)
        var list = try CNIJSON.decode(NetworkConfigurationList.self, from: bytes)
        let inlineOnly = list.loadOnlyInlinedPlugins ?? false
        switch object["plugins"] {
        case nil where inlineOnly:
            throw CNIError(.invalidNetworkConfig, "loadOnlyInlinedPlugins is true and there is no \"plugins\" key")
        case .array(let plugins)? where plugins.isEmpty:
            throw CNIError(.invalidNetworkConfig, "no plugins in list")
        default: break
        }
        guard case .string? = object["name"] else {
            throw CNIError(.invalidNetworkConfig, "the configuration list has no name")
        }
        if !inlineOnly {
            for file in try files(in: folder + "/" + list.name, extensions: [".conf"]) {
                do {
                    list.plugins.append(try plugin(try read(file)))
                } catch {
                    var error = error
                    error.message = "\(file): \(error.message)"
                    throw error
                }
            }
        }
        guard !list.plugins.isEmpty else { throw CNIError(.invalidNetworkConfig, "no plugin configs found") }
        try list.validate()
        return list
    }

    static func singlePlugin(_ bytes: [UInt8]) throws(CNIError) -> NetworkConfigurationList {
        let object = try plugin(bytes)
        let list = NetworkConfigurationList(
            cniVersion: object["cniVersion"]?.stringValue, name: object["name"]?.stringValue ?? "", plugins: [object])
        try list.validate()
        return list
    }

    /// A plugin configuration object: JSON with a non-empty `type`.
    static func plugin(_ bytes: [UInt8]) throws(CNIError) -> [String: JSONValue] {
        let object = try CNIJSON.decode([String: JSONValue].self, from: bytes)
        guard let type = object["type"]?.stringValue, !type.isEmpty else {
            throw CNIError(.invalidNetworkConfig, "error parsing configuration: missing 'type'")
        }
        return object
    }

    static func files(in directory: String, extensions: Set<String>) throws(CNIError) -> [String] {
        let names: [String]
        do {
            names = try FileManager.default.contentsOfDirectory(atPath: directory)
        } catch {
            if !FileManager.default.fileExists(atPath: directory) { return [] }
            throw CNIError(.ioFailure, "cannot read configuration directory \(directory)", details: "\(error)")
        }
        return names.filter { name in
            guard let dot = name.lastIndex(of: "."), extensions.contains(String(name[dot...])) else { return false }
            // As libcni: directories are skipped (a symbolic link counts as a file).
            let attributes = try? FileManager.default.attributesOfItem(atPath: directory + "/" + name)
            return attributes?[.type] as? FileAttributeType != .typeDirectory
        }
        .sorted { Array($0.utf8).lexicographicallyPrecedes(Array($1.utf8)) }
        .map { directory + "/" + $0 }
    }

    static func read(_ file: String) throws(CNIError) -> [UInt8] {
        do {
            return Array(try Data(contentsOf: URL(filePath: file)))
        } catch {
            throw CNIError(.ioFailure, "cannot read network configuration \(file)", details: "\(error)")
        }
    }

    static func directoryName(of file: String) -> String {
        guard let slash = file.lastIndex(of: "/") else { return "." }
        return slash == file.startIndex ? "/" : String(file[..<slash])
    }
}
