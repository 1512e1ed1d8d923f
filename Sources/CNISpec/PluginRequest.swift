import NetPrimitives

/// One invocation of a plugin: the validated environment, the configuration bytes and the
/// negotiated version (the reference library's `CmdArgs`).
public struct PluginRequest: Sendable {
    public var command: CNICommand
    /// CNI_CONTAINERID (empty for GC and STATUS).
    public var containerID: String
    /// CNI_NETNS: the container's network namespace path (may be empty for DEL).
    public var networkNamespace: String
    /// CNI_IFNAME, validated (nil for GC and STATUS).
    public var interfaceName: InterfaceName?
    /// CNI_ARGS.
    public var arguments: CNIArguments
    /// CNI_PATH, split at ":".
    public var pluginPath: [String]
    /// The configuration exactly as read from stdin.
    public var configurationBytes: [UInt8]
    /// The version of the configuration; the plugin supports it (PluginMain checked).
    public var version: CNIVersion
    /// The whole environment the plugin got (delegated plugins get the same).
    public var environment: [String: String]
    /// The plugin's stderr, for logs and delegated plugins' stderr.
    public var standardError: OutputSink

    public init(
        command: CNICommand, containerID: String = "", networkNamespace: String = "",
        interfaceName: InterfaceName? = nil, arguments: CNIArguments = CNIArguments(), pluginPath: [String] = [],
        configurationBytes: [UInt8], version: CNIVersion, environment: [String: String] = [:],
        standardError: OutputSink = .discard
    ) {
        self.command = command
        self.containerID = containerID
        self.networkNamespace = networkNamespace
        self.interfaceName = interfaceName
        self.arguments = arguments
        self.pluginPath = pluginPath
        self.configurationBytes = configurationBytes
        self.version = version
        self.environment = environment
        self.standardError = standardError
    }

    /// `CNI_IFNAME`: always set for ADD, DEL and CHECK (``PluginMain`` validated it); for a
    /// request built by hand without one, error 4 (invalid environment variables).
    public func requiredInterfaceName() throws(CNIError) -> InterfaceName {
        guard let interfaceName else { throw CNIError(.invalidEnvironmentVariables, "CNI_IFNAME is required") }
        return interfaceName
    }

    /// The configuration with the plugin's typed options.
    public func configuration<Options>(as options: Options.Type = NoOptions.self) throws(CNIError) -> NetworkConfiguration<Options> {
        try NetworkConfiguration<Options>(decoding: configurationBytes)
    }

    /// `prevResult` of the configuration in the 1.x model, or nil when there is none.
    public func previousResult() throws(CNIError) -> CNIResult? {
        try configuration(as: NoOptions.self).previousResult()?.current()
    }

    /// Writes a log line to the plugin's stderr.
    public func log(_ message: String) {
        standardError.write(message + "\n")
    }
}
