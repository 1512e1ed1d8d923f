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
    /// `swift-calico-node` on every node (iBGP full mesh, AS 64512, one configuration file
    /// `<state>/calico.json` in Calico's field names) and the `swift-calico` plugin with its
    /// block-affinity IPAM (`calico-ipam`, pool 10.244.0.0/16, /26 blocks) on the lab's store.
    /// Pod routes are learned over BGP only: no tunnel device.
    case calico(CalicoSettings)
    /// `swift-canald` on every node (it runs `swift-flanneld` for the VXLAN overlay and
    /// enforces the store's network policies for its node's pods) and the `swift-canal`
    /// plugin: a Calico-style routed veth per pod, addressed from the node's flannel subnet.
    case canal

    /// `reference`, `flannel`, `calico` or `canal`.
    public var name: String {
        switch self {
        case .reference: "reference"
        case .flannel: "flannel"
        case .calico: "calico"
        case .canal: "canal"
        }
    }

    public var description: String {
        switch self {
        case .reference: "reference"
        case .flannel(let backend): "flannel (\(backend.rawValue))"
        case .calico(let settings):
            "calico (hold \(settings.holdTime) s, graceful restart \(settings.gracefulRestartTime) s)"
        case .canal: "canal (flannel vxlan + policy)"
        }
    }
}

/// The BGP timers of the calico profile's agents (written to `calico.json`).
public struct CalicoSettings: Codable, Hashable, Sendable {
    /// BGP hold time in seconds (keepalives every third of it); 0 or ≥ 3.
    public var holdTime: Int
    /// Seconds between connection attempts to a peer that is down.
    public var connectRetryTime: Int
    /// Seconds the peers keep a killed agent's routes (stale) before sweeping them, and the
    /// agent keeps its own learned routes after a restart until they are learned again.
    public var gracefulRestartTime: Int
    /// How often the agent re-reads the store (milliseconds).
    public var resyncIntervalMilliseconds: Int

    public init(holdTime: Int = 9, connectRetryTime: Int = 2, gracefulRestartTime: Int = 30, resyncIntervalMilliseconds: Int = 1_000) {
        self.holdTime = holdTime
        self.connectRetryTime = connectRetryTime
        self.gracefulRestartTime = gracefulRestartTime
        self.resyncIntervalMilliseconds = resyncIntervalMilliseconds
    }

    /// For people using a lab: a 9 s hold time (a dead peer is noticed within seconds, still
    /// tolerant of a loaded machine) and 30 s of graceful restart (Calico's own defaults are
    /// 90 s and 120 s, long for a lab).
    public static let standard = CalicoSettings()

    /// For tests: 3 s hold time, 1 s connect retry, 5 s graceful restart, 300 ms resync.
    public static let fast = CalicoSettings(holdTime: 3, connectRetryTime: 1, gracefulRestartTime: 5, resyncIntervalMilliseconds: 300)

    func validate() throws(LabError) {
        guard holdTime == 0 || (3...65_535).contains(holdTime) else {
            throw LabError(.invalidArgument, "the BGP hold time is 0 or 3–65535 s, not \(holdTime)")
        }
        guard (1...3_600).contains(connectRetryTime) else {
            throw LabError(.invalidArgument, "the connect retry time is 1–3600 s, not \(connectRetryTime)")
        }
        guard (1...4_095).contains(gracefulRestartTime) else {
            // RFC 4724: the restart time is a 12-bit field.
            throw LabError(.invalidArgument, "the graceful restart time is 1–4095 s, not \(gracefulRestartTime)")
        }
        guard (50...60_000).contains(resyncIntervalMilliseconds) else {
            throw LabError(.invalidArgument, "the resync interval is 50–60000 ms, not \(resyncIntervalMilliseconds)")
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
