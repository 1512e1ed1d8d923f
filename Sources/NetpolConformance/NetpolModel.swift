/// The cluster every case runs against, as upstream's netpol e2e suite builds it: namespaces
/// `x`, `y` and `z`, each with pods `a`, `b` and `c`; every pod labelled `pod=<name>`, every
/// namespace labelled `ns=<name>` (and `kubernetes.io/metadata.name=<name>`, as the API server
/// does); every pod serves TCP and UDP on ports 80 and 81 (named `serve-80-tcp`,
/// `serve-80-udp`, `serve-81-tcp`, `serve-81-udp`). SCTP is not served: this kernel has no
/// SCTP sockets (cases that only put SCTP in a policy still run, probing TCP).
public enum NetpolModel {
    public static let namespaces = ["x", "y", "z"]
    public static let podNames = ["a", "b", "c"]
    public static let ports = [80, 81]

    /// Every pod, in the order truth tables print them: x/a, x/b, x/c, y/a, … z/c.
    public static let pods: [NetpolPod] = namespaces.flatMap { namespace in podNames.map { NetpolPod(namespace, $0) } }

    /// The model's pod named `namespace/name` (a lab pod's qualified name), if it is one.
    public static func pod(named qualifiedName: String) -> NetpolPod? {
        pods.first { $0.description == qualifiedName }
    }

    /// The labels a pod starts with (and gets back between cases).
    public static func labels(of pod: NetpolPod) -> [String: String] { ["pod": pod.name] }

    /// The labels a namespace starts with (and gets back between cases), besides
    /// `kubernetes.io/metadata.name`.
    public static func labels(ofNamespace namespace: String) -> [String: String] { ["ns": namespace] }
}

/// A pod of the model, `namespace/name`.
public struct NetpolPod: Hashable, Sendable, Comparable, CustomStringConvertible {
    public var namespace: String
    public var name: String

    public init(_ namespace: String, _ name: String) {
        self.namespace = namespace
        self.name = name
    }

    public var description: String { "\(namespace)/\(name)" }

    public static func < (left: NetpolPod, right: NetpolPod) -> Bool {
        (left.namespace, left.name) < (right.namespace, right.name)
    }
}

/// TCP or UDP (the probes this machine can make).
public enum NetpolProtocol: String, Hashable, Sendable, CaseIterable, Codable {
    case tcp
    case udp
}

/// What a case may read of the running cluster when it writes a policy: pod addresses, for the
/// ipBlock cases.
public struct NetpolEnvironment: Sendable {
    public var addresses: [NetpolPod: String]

    public init(addresses: [NetpolPod: String]) { self.addresses = addresses }

    /// The pod's IPv4 address, e.g. `10.244.1.5`.
    public func address(of pod: NetpolPod) -> String { addresses[pod] ?? "0.0.0.0" }
}
