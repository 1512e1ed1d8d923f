/// One upstream test (`ginkgo.It` of test/e2e/network/netpol/network_policy.go) re-expressed
/// as steps over ``NetpolModel``: writes to the cluster, then probes checked against truth
/// tables. Every case starts from the model's initial state (no policies, initial labels) and
/// the runner restores it afterwards.
public struct NetpolCase: Sendable, Identifiable {
    /// A short stable identifier, e.g. `default-deny-ingress` (used to filter cases).
    public var id: String
    /// The upstream `ginkgo.It` title, verbatim, so a reader can find the original.
    public var upstreamTitle: String
    /// The upstream `ginkgo.Context` the case belongs to (the UDP and SCTP contexts repeat
    /// titles of the main one): ``NetpolUpstreamContext/tcp`` unless said otherwise.
    public var upstreamContext: String
    /// Whether CI's representative subset runs it.
    public var isRepresentative: Bool
    public var steps: [NetpolStep]

    public init(
        id: String, upstreamTitle: String, upstreamContext: String = NetpolUpstreamContext.tcp, isRepresentative: Bool = false,
        steps: [NetpolStep]
    ) {
        self.id = id
        self.upstreamTitle = upstreamTitle
        self.upstreamContext = upstreamContext
        self.isRepresentative = isRepresentative
        self.steps = steps
    }
}

/// The `ginkgo.Context` names of upstream's netpol suite.
public enum NetpolUpstreamContext {
    /// The main context (TCP probes unless a case says otherwise).
    public static let tcp = "NetworkPolicy between server and client"
    /// The context whose cases probe UDP.
    public static let udp = "NetworkPolicy between server and client using UDP"
    /// The context whose cases probe SCTP (not probed here: see ``NetpolCatalogue/omitted``).
    public static let sctp = "NetworkPolicy between server and client using SCTP"
    /// Not upstream: a case this catalogue adds (see ``NetpolCatalogue/supplementary``).
    public static let supplementary = "supplementary (not upstream)"
}

/// One step of a case.
public enum NetpolStep: Sendable {
    /// Creates or replaces (same namespace/name) the policies of a YAML text (one or more
    /// `networking.k8s.io/v1` NetworkPolicy documents). The closure may read pod addresses.
    case apply(@Sendable (NetpolEnvironment) -> String)
    /// Deletes the NetworkPolicy `namespace/name`.
    case delete(namespace: String, name: String)
    /// Changes a pod's labels: a `nil` value removes the label.
    case labelPod(NetpolPod, [String: String?])
    /// Changes a namespace's labels: a `nil` value removes the label.
    case labelNamespace(String, [String: String?])
    /// Probes every ordered pair of distinct pods on `port` with each of `protocols` and
    /// expects `reachability` (the same table for each protocol).
    case probe(port: Int, protocols: [NetpolProtocol], Reachability)

    /// `apply` of a fixed text.
    public static func apply(_ text: String) -> NetpolStep { .apply { _ in text } }

    /// A probe with upstream's defaults: port 80, TCP.
    public static func probe(_ reachability: Reachability, port: Int = 80, protocols: [NetpolProtocol] = [.tcp]) -> NetpolStep {
        .probe(port: port, protocols: protocols, reachability)
    }
}
