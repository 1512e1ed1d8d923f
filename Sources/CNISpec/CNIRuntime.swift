/// The runtime side of CNI, as libcni does it: runs a network configuration list's plugins
/// for an attachment (ADD in order with `prevResult` chained, DEL in reverse, CHECK), GC and
/// STATUS for the network, and caches ADD results for DEL and CHECK.
///
/// ```swift
/// let runtime = CNIRuntime(pluginDirectories: ["/usr/lib/cni"], cacheDirectory: "/run/mycni")
/// let list = try NetworkConfigurationList(contentsOfFile: "/etc/cni/net.d/10-mynet.conflist")
/// let pod = RuntimeAttachment(containerID: "pod1", networkNamespace: "/var/run/netns/pod1", interfaceName: "eth0")
/// let result = try await runtime.add(list, pod)
/// try await runtime.delete(list, pod)
/// ```
/// Plugins start through ``launcher``; pass one that spawns inside a node's network namespace
/// to run a node's plugins without touching the caller's namespace.
public struct CNIRuntime: Sendable {
    public var pluginDirectories: [String]
    public var cache: ResultCache
    public var launcher: any PluginLauncher
    /// The environment plugins inherit (PATH matters: plugins run iptables and friends);
    /// CNI_* variables in it are replaced per call.
    public var baseEnvironment: [String: String]
    /// The highest version this runtime offers to configurations.
    public var maximumVersion: CNIVersion

    public init(
        pluginDirectories: [String], cacheDirectory: String, launcher: any PluginLauncher = ChildProcessLauncher(),
        baseEnvironment: [String: String] = ProcessEnvironment.current(), maximumVersion: CNIVersion = .latest
    ) {
        self.pluginDirectories = pluginDirectories
        self.cache = ResultCache(directory: cacheDirectory)
        self.launcher = launcher
        self.baseEnvironment = baseEnvironment.filter { !$0.key.hasPrefix("CNI_") }
        self.maximumVersion = maximumVersion
    }

    /// ADD: runs every plugin in order, each getting the previous one's result; caches and
    /// returns the last result.
    @discardableResult
    public func add(_ list: NetworkConfigurationList, _ attachment: RuntimeAttachment) async throws(CNIError) -> AnyCNIResult {
        try validate(attachment)
        let version = try list.selectVersion(maximum: maximumVersion)
        var previous: JSONValue? = nil
        for plugin in list.plugins {
            let configuration = try RequestConfiguration.derive(
                plugin, list: list, version: version, attachment: attachment, previousResult: previous)
            let output = try await execute(plugin, .add, configuration, attachment)
            _ = try AnyCNIResult(decoding: output, assumingVersion: version)  // must be a valid result
            previous = try CNIJSON.decode(JSONValue.self, from: output)
        }
        guard let previous else { throw CNIError(.invalidNetworkConfig, "network \"\(list.name)\" has no plugins") }
        try cache.store(network: list.name, attachment: attachment.attachment, result: previous)
        return try AnyCNIResult(previous, assumingVersion: version)
    }

    /// DEL: runs every plugin in reverse order with the cached ADD result as `prevResult`
    /// (0.4.0 and later), then forgets the cached result.
    public func delete(_ list: NetworkConfigurationList, _ attachment: RuntimeAttachment) async throws(CNIError) {
        try validate(attachment)
        let version = try list.selectVersion(maximum: maximumVersion)
        let cached = try cache.load(network: list.name, attachment: attachment.attachment)?.result
        let previous = version >= .v0_4_0 ? cached : nil
        for plugin in list.plugins.reversed() {
            let configuration = try RequestConfiguration.derive(
                plugin, list: list, version: version, attachment: attachment, previousResult: previous)
            _ = try await execute(plugin, .delete, configuration, attachment)
        }
        cache.remove(network: list.name, attachment: attachment.attachment)
    }

    /// CHECK (0.4.0+): runs every plugin in order with the cached ADD result; stops at the
    /// first error. Does nothing when the list sets `disableCheck`.
    public func check(_ list: NetworkConfigurationList, _ attachment: RuntimeAttachment) async throws(CNIError) {
        try validate(attachment)
        let version = try list.selectVersion(maximum: maximumVersion)
        guard version.supportsCheck else {
            throw CNIError(.incompatibleVersion, "configuration version \"\(version)\" does not support the CHECK command")
        }
        if list.disableCheck { return }
        guard let cached = try cache.load(network: list.name, attachment: attachment.attachment) else {
            throw CNIError(.unknownContainer, "no cached result for \(attachment.containerID)/\(attachment.interfaceName) in network \"\(list.name)\"")
        }
        for plugin in list.plugins {
            let configuration = try RequestConfiguration.derive(
                plugin, list: list, version: version, attachment: attachment, previousResult: cached.result)
            _ = try await execute(plugin, .check, configuration, attachment)
        }
    }

    /// GC (1.1.0+): tells every plugin which attachments are still valid; continues past
    /// failures and reports them all. Also drops cached results of attachments not listed.
    /// Does nothing when the list sets `disableGC`.
    public func garbageCollect(_ list: NetworkConfigurationList, validAttachments: [NetworkAttachment]) async throws(CNIError) {
        let version = try list.selectVersion(maximum: maximumVersion)
        guard version.supportsGarbageCollectionAndStatus else {
            throw CNIError(.incompatibleVersion, "configuration version \"\(version)\" does not support the GC command")
        }
        if list.disableGC { return }
        var failures: [String] = []
        for plugin in list.plugins {
            let configuration = try RequestConfiguration.derive(
                plugin, list: list, version: version, validAttachments: validAttachments)
            do {
                _ = try await execute(plugin, .garbageCollect, configuration, nil)
            } catch {
                failures.append("\(plugin["type"]?.stringValue ?? "?"): \(error)")
            }
        }
        let valid = Set(validAttachments)
        for entry in cache.entries(network: list.name) {
            let attachment = NetworkAttachment(containerID: entry.containerID, interfaceName: entry.interfaceName)
            if !valid.contains(attachment) { cache.remove(network: list.name, attachment: attachment) }
        }
        if !failures.isEmpty {
            throw CNIError(.internal, "GC of network \"\(list.name)\" failed for \(failures.count) plugin(s)", details: failures.joined(separator: "; "))
        }
    }

    /// STATUS (1.1.0+): asks every plugin whether it can service ADD; the first error wins.
    public func status(_ list: NetworkConfigurationList) async throws(CNIError) {
        let version = try list.selectVersion(maximum: maximumVersion)
        guard version.supportsGarbageCollectionAndStatus else {
            throw CNIError(.incompatibleVersion, "configuration version \"\(version)\" does not support the STATUS command")
        }
        for plugin in list.plugins {
            let configuration = try RequestConfiguration.derive(plugin, list: list, version: version)
            _ = try await execute(plugin, .status, configuration, nil)
        }
    }

    /// VERSION of one plugin binary.
    public func version(ofPlugin type: String) async throws(CNIError) -> VersionInfo {
        let executable = try PluginExecution.find(type, in: pluginDirectories)
        var environment = baseEnvironment
        environment["CNI_COMMAND"] = CNICommand.version.rawValue
        let output = try await PluginExecution.execute(
            executable, environment: environment, configuration: Array("{\"cniVersion\":\"\(maximumVersion)\"}".utf8),
            launcher: launcher)
        return try CNIJSON.decode(VersionInfo.self, from: output)
    }

    /// The cached ADD result of an attachment, if any.
    public func cachedResult(_ list: NetworkConfigurationList, _ attachment: RuntimeAttachment) throws(CNIError) -> AnyCNIResult? {
        guard let entry = try cache.load(network: list.name, attachment: attachment.attachment) else { return nil }
        return try AnyCNIResult(entry.result, assumingVersion: list.selectVersion(maximum: maximumVersion))
    }

    private func validate(_ attachment: RuntimeAttachment) throws(CNIError) {
        guard ContainerID.isValid(attachment.containerID) else {
            throw CNIError(.invalidEnvironmentVariables, "invalid container ID \"\(attachment.containerID)\"")
        }
    }

    private func execute(
        _ plugin: [String: JSONValue], _ command: CNICommand, _ configuration: [UInt8], _ attachment: RuntimeAttachment?
    ) async throws(CNIError) -> [UInt8] {
        let type = plugin["type"]?.stringValue ?? ""
        let executable = try PluginExecution.find(type, in: pluginDirectories)
        var environment = baseEnvironment
        environment["CNI_COMMAND"] = command.rawValue
        environment["CNI_PATH"] = pluginDirectories.joined(separator: ":")
        if let attachment {
            environment["CNI_CONTAINERID"] = attachment.containerID
            environment["CNI_NETNS"] = attachment.networkNamespace
            environment["CNI_IFNAME"] = attachment.interfaceName.value
            let arguments = attachment.arguments.description
            if !arguments.isEmpty { environment["CNI_ARGS"] = arguments }
        }
        do {
            return try await PluginExecution.execute(executable, environment: environment, configuration: configuration, launcher: launcher)
        } catch {
            var error = error
            error.message = "plugin \(type) \(command.rawValue): \(error.message)"
            throw error
        }
    }
}
