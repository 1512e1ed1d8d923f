import CNISpec

/// What a lab needs from a CNI plugin: the agent each node runs, the network configuration
/// list the runtime hands to the plugins, when a node is ready, what a leaving node takes
/// with it. The Lab itself knows no plugin; a profile is a value of a type conforming to this
/// protocol, defined anywhere (the project's flannel, calico and canal profiles are in the
/// `LabProfiles` library; a test can define its own).
///
/// A profile is `Codable`: ``Lab/up(_:)`` records it in the lab's `state.json` under
/// ``kind``, and ``Lab/open(name:stateDirectory:profiles:)`` decodes it again with the type
/// of that kind among those it is given, so every later command sees the same profile.
///
/// The hooks run inside the lab (on its actor) in this order: ``validate()`` and
/// ``prepare(_:)`` once before the first node; per joining node ``initialSubnet(of:in:)``,
/// ``agentCommand(for:in:)`` (the agent is started inside the node namespace),
/// ``waitUntilReady(_:in:)``, ``networkConfiguration(for:in:)`` (the node's subnet is known by
/// then) and ``nodesChanged(_:)``; per leaving node ``nodeLeft(_:in:)`` then ``nodesChanged(_:)``.
/// ``networkConfiguration(for:in:)`` is asked again for every pod ADD and DEL.
public protocol LabProfile: Codable, Sendable, CustomStringConvertible {
    /// The profile's name: what `state.json` records, `cnilab status` shows as the plugin and
    /// ``Lab/open(name:stateDirectory:profiles:)`` looks the type up by. Unique among the
    /// profiles one program knows.
    static var kind: String { get }

    /// Checks the profile's settings before anything is created (throws ``LabError`` with
    /// `invalidArgument`). Default: nothing to check.
    func validate() throws

    /// Before the first node: what the agents need in the store or in files of the state
    /// directory. Default: nothing.
    func prepare(_ lab: LabProfileContext) async throws

    /// A node's pod subnet when the profile knows it before its agent runs (the reference
    /// plugins' host-local ranges). Default: nil (the agent assigns it, see ``waitUntilReady(_:in:)``).
    func initialSubnet(of node: LabNode, in lab: LabProfileContext) throws -> String?

    /// The program node `node` runs as its agent (found in the lab's executable directories
    /// unless absolute), or nil for none.
    func agentCommand(for node: LabNode, in lab: LabProfileContext) throws -> AgentCommand?

    /// The conflist the runtime runs for pods on `node` (the lab keeps it in
    /// `<state>/nodes/I/network.conflist`).
    func networkConfiguration(for node: LabNode, in lab: LabProfileContext) throws -> NetworkConfigurationList

    /// Waits until the node's agent is ready for pods (``LabProfileContext/waitForAgent(of:timeout:_:until:)``
    /// bounds the wait and fails when the agent exits); returns the node's pod subnet when the
    /// agent assigned one, recorded by the lab. Default: ready at once, nil.
    func waitUntilReady(_ node: LabNode, in lab: LabProfileContext) async throws -> String?

    /// After a node joined or left: lab-wide wiring, e.g. the lab's static routes between the
    /// nodes (``LabProfileContext/programStaticRoutes()``). Default: nothing.
    func nodesChanged(_ lab: LabProfileContext) async throws

    /// The store side of a node leaving, as an admin would do it (its lease or node record
    /// deleted). Default: nothing.
    func nodeLeft(_ node: LabNode, in lab: LabProfileContext) async throws

    /// The subnet ``Lab/nodes()`` and `cnilab status` show for a node (`node.subnet` is what
    /// the lab recorded). Default: the recorded one.
    func reportedSubnet(of node: LabNode) -> String?

    /// Whether the profile's agents enforce the store's network policies and report the store
    /// revision they enforce as a `PolicyAgentStatus` (PolicyAgent) in
    /// ``LabProfileContext/policyStatusPath(node:)`` (what ``Lab/waitForPolicyEnforcement(timeout:)``
    /// waits for). Default: false.
    var enforcesPolicy: Bool { get }
}

extension LabProfile {
    public func validate() throws {}
    public func prepare(_ lab: LabProfileContext) async throws {}
    public func initialSubnet(of node: LabNode, in lab: LabProfileContext) throws -> String? { nil }
    public func waitUntilReady(_ node: LabNode, in lab: LabProfileContext) async throws -> String? { nil }
    public func nodesChanged(_ lab: LabProfileContext) async throws {}
    public func nodeLeft(_ node: LabNode, in lab: LabProfileContext) async throws {}
    public func reportedSubnet(of node: LabNode) -> String? { node.subnet }
    public var enforcesPolicy: Bool { false }
    public var description: String { Self.kind }

    /// The profile's ``kind``.
    public var name: String { Self.kind }
}

/// A program a node runs as its agent. ``LabProfileContext/expand(_:node:)`` fills in `{node}`
/// (the node's name), `{index}`, `{state}` (the node's state directory) and `{store}` (the
/// store URL) for profiles that take a command from their user.
public struct AgentCommand: Codable, Hashable, Sendable {
    /// An absolute path, or a name looked up in the lab's executable directories.
    public var executable: String
    public var arguments: [String]

    public init(executable: String, arguments: [String] = []) {
        self.executable = executable
        self.arguments = arguments
    }
}

/// Where the lab's cluster state lives.
public enum LabStoreKind: String, Codable, Hashable, Sendable, CaseIterable {
    /// The embedded file store in the state directory (the default).
    case file
    /// A real etcd started for the lab inside the fabric namespace.
    case etcd
}
