/// Which CNI plugin a lab runs, and how: the agent each node runs (if any) and the network
/// configuration list the runtime hands to the plugins. The Lab itself is plugin-agnostic.
public enum PluginProfile: Codable, Hashable, Sendable, CustomStringConvertible {
    /// The reference `bridge` + `host-local` plugins (from `/usr/lib/cni`), one /24 per node
    /// (10.244.(I+1).0/24 on node I), and host-gw style static routes between the nodes that
    /// the Lab programs itself through Netlink. `agent`, when given, is run on every node as a
    /// stand-in agent so agent commands can be exercised without a real one.
    case reference(agent: AgentCommand?)
    /// `swift-flanneld` on every node (store `file:DIR` or etcd) and the `swift-flannel` plugin
    /// reading the node's `subnet.env`; the Lab writes flannel's network configuration with the
    /// backend into the store before the first agent starts.
    case flannel(backend: FlannelBackend)

    /// `reference` or `flannel`.
    public var name: String {
        switch self {
        case .reference: "reference"
        case .flannel: "flannel"
        }
    }

    public var description: String {
        switch self {
        case .reference: "reference"
        case .flannel(let backend): "flannel (\(backend.rawValue))"
        }
    }
}

/// A program a node runs as its agent. In `arguments`, `{node}` becomes the node's name,
/// `{index}` its index, `{state}` the node's state directory and `{store}` the store URL.
public struct AgentCommand: Codable, Hashable, Sendable {
    /// An absolute path, or a name looked up in the lab's executable directories.
    public var executable: String
    public var arguments: [String]

    public init(executable: String, arguments: [String] = []) {
        self.executable = executable
        self.arguments = arguments
    }
}

/// flannel's backends.
public enum FlannelBackend: String, Codable, Hashable, Sendable, CaseIterable {
    case vxlan
    case hostGateway = "host-gw"
}

/// Where the lab's cluster state lives.
public enum LabStoreKind: String, Codable, Hashable, Sendable, CaseIterable {
    /// The embedded file store in the state directory (the default).
    case file
    /// A real etcd started for the lab inside the fabric namespace.
    case etcd
}
