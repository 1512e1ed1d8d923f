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
        try cache.store(
            ResultCache.Entry(
                containerID: attachment.containerID, interfaceName: attachment.interfaceName.value, networkName: list.name,
                configuration: try list.encoded(), networkNamespace: attachment.networkNamespace, arguments: attachment.arguments,
                capabilityArguments: attachment.capabilityArguments, result: previous))
        return try AnyCNIResult(previous, assumingVersion: version)
    }

    /// DEL: runs every plugin in reverse order with the cached ADD result as `prevResult`
    /// (0.4.0 and later), then forgets the cached result. An unreadable cache entry is dropped
    /// and DEL goes on without `prevResult`, as libcni does. After a restart, a runtime that no
    /// longer has the configuration takes it from ``cachedConfiguration(network:_:)``.
    public func delete(_ list: NetworkConfigurationList, _ attachment: RuntimeAttachment) async throws(CNIError) {
        try validate(attachment)
        let version = try list.selectVersion(maximum: maximumVersion)
        var previous: JSONValue? = nil
        if version >= .v0_4_0 {
            do {
                previous = try cache.load(network: list.name, attachment: attachment.attachment)?.result
            } catch {
                cache.remove(network: list.name, attachment: attachment.attachment)
            }
        }
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

    /// GC, as libcni does it for every configuration version: first a DEL of each cached
    /// attachment of this network that is not in `validAttachments` (with the namespace,
    /// `CNI_ARGS` and capability arguments cached at its ADD), then, from 1.1.0, the GC command
    /// to every plugin with the valid attachments. Continues past failures and reports them
    /// all. Does nothing when the list sets `disableGC`.
    public func garbageCollect(_ list: NetworkConfigurationList, validAttachments: [NetworkAttachment]) async throws(CNIError) {
        let version = try list.selectVersion(maximum: maximumVersion)
        if list.disableGC { return }
        var failures: [String] = []
        let valid = Set(validAttachments)
        for entry in cache.entries(network: list.name)
        where !valid.contains(NetworkAttachment(containerID: entry.containerID, interfaceName: entry.interfaceName)) {
            do {
                try await delete(list, try entry.runtimeAttachment())
            } catch {
                failures.append("stale attachment \(entry.containerID) \(entry.interfaceName): \(error)")
            }
        }
        for plugin in list.plugins where version.supportsGarbageCollectionAndStatus {
            let configuration = try RequestConfiguration.derive(
                plugin, list: list, version: version, validAttachments: validAttachments)
            do {
                _ = try await execute(plugin, .garbageCollect, configuration, nil)
            } catch {
                failures.append("\(plugin["type"]?.stringValue ?? "?"): \(error)")
            }
        }
        if !failures.isEmpty {
            throw CNIError(.internal, "GC of network \"\(list.name)\" failed for \(failures.count) plugin(s) or attachment(s)", details: failures.joined(separator: "; "))
        }
    }

    /// STATUS (1.1.0+): asks every plugin whether it can service ADD; the first error wins.
    /// Before 1.1.0 there is no STATUS and the network counts as ready, as libcni answers.
    public func status(_ list: NetworkConfigurationList) async throws(CNIError) {
        let version = try list.selectVersion(maximum: maximumVersion)
        guard version.supportsGarbageCollectionAndStatus else { return }
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

    /// The network configuration and runtime parameters an attachment was added with, from
    /// the cache (libcni's `GetNetworkListCachedConfig`): `CNI_ARGS` and capability
    /// arguments are the cached ones, the namespace is `attachment`'s when it names one. Nil
    /// when nothing (or no configuration) is cached for it.
    public func cachedConfiguration(
        network name: String, _ attachment: RuntimeAttachment
    ) throws(CNIError) -> (list: NetworkConfigurationList, attachment: RuntimeAttachment)? {
        guard let entry = try cache.load(network: name, attachment: attachment.attachment),
            let list = try entry.configurationList()
        else { return nil }
        var cached = attachment
        if let arguments = entry.arguments { cached.arguments = arguments }
        cached.capabilityArguments = entry.capabilityArguments ?? [:]
        if cached.networkNamespace.isEmpty { cached.networkNamespace = entry.networkNamespace ?? "" }
        return (list, cached)
    }

    /// The cached attachments, optionally of one container (libcni's `GetCachedAttachments`).
    public func cachedAttachments(containerID: String? = nil) -> [ResultCache.Entry] {
        cache.entries(containerID: containerID)
    }

    /// The cached ADD result of an attachment, if any.
    public func cachedResult(_ list: NetworkConfigurationList, _ attachment: RuntimeAttachment) throws(CNIError) -> AnyCNIResult? {
        guard let entry = try cache.load(network: list.name, attachment: attachment.attachment), let result = entry.result else { return nil }
        return try AnyCNIResult(result, assumingVersion: list.selectVersion(maximum: maximumVersion))
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
