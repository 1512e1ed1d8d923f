import NetPrimitives

/// The per-attachment parameters a runtime passes (libcni's `RuntimeConf`): who, where, and
/// the capability arguments it can offer (such as `portMappings`).
public struct RuntimeAttachment: Hashable, Sendable {
    public var containerID: String
    /// The container's network namespace path (CNI_NETNS).
    public var networkNamespace: String
    public var interfaceName: InterfaceName
    /// CNI_ARGS.
    public var arguments: CNIArguments
    /// Capability name → value; each goes into `runtimeConfig` only of plugins that declare it.
    public var capabilityArguments: [String: JSONValue]

    public init(
        containerID: String, networkNamespace: String, interfaceName: InterfaceName,
        arguments: CNIArguments = CNIArguments(), capabilityArguments: [String: JSONValue] = [:]
    ) {
        self.containerID = containerID
        self.networkNamespace = networkNamespace
        self.interfaceName = interfaceName
        self.arguments = arguments
        self.capabilityArguments = capabilityArguments
    }

    /// The `(containerID, ifname)` pair identifying the attachment.
    public var attachment: NetworkAttachment { NetworkAttachment(containerID: containerID, interfaceName: interfaceName.value) }
}
