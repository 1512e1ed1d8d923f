import NetPrimitives

/// A node of a lab, as ``Lab/nodes()`` reports it.
public struct LabNode: Codable, Hashable, Sendable {
    public var index: Int
    /// The node's name in the cluster (`node-I`).
    public var name: String
    /// The node's network namespace (`cnilab-<lab>-nI`).
    public var networkNamespace: String
    /// The node's address on the underlay (the fabric bridge).
    public var underlayAddress: String
    /// The node's IPv6 address on the underlay (labs with `--ip-family ipv6|dual`; nil otherwise).
    public var underlayIPv6Address: String?
    /// The node's pod subnet, once known.
    public var subnet: String?
    public var agent: AgentState
}

/// Whether a node's agent runs.
public enum AgentState: String, Codable, Hashable, Sendable {
    case running
    case stopped
    /// The profile runs no agent on this node.
    case none
}

/// A pod of a lab: a network namespace on a node, networked by the plugin.
public struct LabPod: Codable, Hashable, Sendable {
    public var namespace: String
    public var name: String
    public var node: Int
    /// The pod's first address from the plugin's result: IPv4 when it has one, else IPv6.
    public var address: String?
    /// Every address of the pod from the plugin's result, IPv4 first (`pod list --json`'s `ips`).
    public var addresses: [String] = []
    public var labels: [String: String]
    /// The pod's network namespace (`cnilab-<lab>-pK`).
    public var networkNamespace: String
    /// The CNI container ID (`<namespace>-<name>-<random>`).
    public var containerID: String

    /// `namespace/name`.
    public var qualifiedName: String { "\(namespace)/\(name)" }

    /// The pod's address of `family` (its first one), nil when it has none.
    public func address(of family: IPAddress.Family) -> String? {
        (addresses.isEmpty ? address.map { [$0] } ?? [] : addresses).first { IPAddress($0)?.family == family }
    }
}

/// A lab's overview, as `cnilab status` shows it.
public struct LabStatus: Codable, Hashable, Sendable {
    public var lab: String
    public var plugin: String
    public var store: String
    public var nodes: [LabNode]
    public var pods: Int
    /// The lab's address families (`cnilab up --ip-family`).
    public var ipFamily: LabIPFamily = .ipv4
}

/// A pod name as `NAMESPACE/NAME`.
public struct PodReference: Hashable, Sendable, CustomStringConvertible {
    public var namespace: String
    public var name: String

    public init(namespace: String, name: String) throws(LabError) {
        try LabNames.validateKubernetesName(namespace, what: "namespace")
        try LabNames.validateKubernetesName(name, what: "pod name")
        self.namespace = namespace
        self.name = name
    }

    /// Parses `NAMESPACE/NAME`.
    public init(parsing text: String) throws(LabError) {
        let parts = text.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 2 else { throw LabError(.invalidName, "a pod is named NAMESPACE/NAME, not '\(text)'") }
        try self.init(namespace: String(parts[0]), name: String(parts[1]))
    }

    public var description: String { "\(namespace)/\(name)" }
}

enum LabNames {
    /// Lab names are short lowercase letters and digits: they become part of every namespace
    /// name, and no lab's prefix may be the prefix of another's.
    static func validateLab(_ name: String) throws(LabError) {
        guard !name.isEmpty, name.utf8.count <= 20, name.utf8.allSatisfy({ (0x61...0x7a).contains($0) || (0x30...0x39).contains($0) })
        else { throw LabError(.invalidName, "a lab name is 1–20 lowercase letters or digits, not '\(name)'") }
    }

    /// Kubernetes DNS labels: lowercase alphanumerics and '-', 1–63 bytes, alphanumeric ends.
    static func validateKubernetesName(_ name: String, what: String) throws(LabError) {
        let bytes = Array(name.utf8)
        func alphanumeric(_ byte: UInt8) -> Bool { (0x61...0x7a).contains(byte) || (0x30...0x39).contains(byte) }
        guard !bytes.isEmpty, bytes.count <= 63, alphanumeric(bytes.first!), alphanumeric(bytes.last!),
            bytes.allSatisfy({ alphanumeric($0) || $0 == 0x2d })
        else { throw LabError(.invalidName, "\(what) '\(name)' is not a DNS label (a-z, 0-9, '-', 1–63 characters)") }
    }

    static func prefix(lab: String) -> String { "cnilab-\(lab)-" }
    static func fabric(lab: String) -> String { prefix(lab: lab) + "fabric" }
    /// The router joining the underlay subnets (`cnilab up --underlay-subnets N`, N > 1).
    static func router(lab: String) -> String { prefix(lab: lab) + "router" }
    static func node(lab: String, index: Int) -> String { prefix(lab: lab) + "n\(index)" }
    static func pod(lab: String, index: Int) -> String { prefix(lab: lab) + "p\(index)" }

    /// Whether `namespace` is one of the lab's namespaces (`fabric`, `router`, `nI`, `pK`).
    static func belongs(_ namespace: String, to lab: String) -> Bool {
        let prefix = prefix(lab: lab)
        guard namespace.hasPrefix(prefix) else { return false }
        let rest = namespace.dropFirst(prefix.count)
        if rest == "fabric" || rest == "router" { return true }
        guard let first = rest.first, first == "n" || first == "p" else { return false }
        let digits = rest.dropFirst()
        return !digits.isEmpty && digits.allSatisfy(\.isNumber)
    }
}
