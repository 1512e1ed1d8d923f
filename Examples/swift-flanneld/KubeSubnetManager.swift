import AgentHTTP
import Kubernetes
import NetPrimitives

/// The names of flannel's node annotations under a prefix (`--kube-annotation-prefix`,
/// default `flannel.alpha.coreos.com`): `<prefix>/backend-type`, `/backend-data`,
/// `/public-ip`, `/public-ip-overwrite`, `/kube-subnet-manager`. As flannel: a prefix without
/// a slash gets `/` appended, one with a slash not ending in `/` or `-` gets `-`; it must
/// look like `fqdn/[a-z0-9_-]*`.
struct FlannelAnnotations: Hashable, Sendable {
    static let defaultPrefix = "flannel.alpha.coreos.com"

    let kubeSubnetManager: String
    let backendType: String
    let backendData: String
    let publicIP: String
    let publicIPOverwrite: String

    init(prefix: String = Self.defaultPrefix) throws(AgentError) {
        var prefix = prefix
        let slashes = prefix.count { $0 == "/" }
        guard slashes <= 1 else { throw AgentError(.invalidConfiguration, "--kube-annotation-prefix \(prefix): at most one '/'") }
        if slashes == 0 { prefix += "/" }
        if !prefix.hasSuffix("/") && !prefix.hasSuffix("-") { prefix += "-" }
        guard Self.isValid(prefix) else {
            throw AgentError(.invalidConfiguration, "--kube-annotation-prefix \(prefix): must be fqdn/[0-9a-z-_]*")
        }
        kubeSubnetManager = prefix + "kube-subnet-manager"
        backendType = prefix + "backend-type"
        backendData = prefix + "backend-data"
        publicIP = prefix + "public-ip"
        publicIPOverwrite = prefix + "public-ip-overwrite"
    }

    /// `a.b[.c…]/` optionally followed by `name-`, of lower-case letters, digits, `_`, `-`.
    private static func isValid(_ prefix: String) -> Bool {
        let parts = prefix.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 2 else { return false }
        let allowed = { (c: Character) in c.isASCII && (c.isLowercase || c.isNumber || c == "_" || c == "-") }
        let labels = parts[0].split(separator: ".", omittingEmptySubsequences: false)
        guard labels.count >= 2, labels.allSatisfy({ !$0.isEmpty && $0.allSatisfy(allowed) }) else { return false }
        let tail = parts[1]
        return tail.isEmpty || (tail.hasSuffix("-") && tail.allSatisfy(allowed))
    }
}

/// What this node publishes on its Node object, flannel's lease attributes.
struct PublishedLease: Hashable, Sendable {
    /// `vxlan` or `host-gw`.
    var backendType: String
    /// The exact JSON text flannel writes: `{"VNI":1,"VtepMAC":"0e:…"}` for vxlan, `null`
    /// for host-gw.
    var backendData: String
    var publicIP: IPAddress

    /// flannel's vxlan backend data: compact, `VNI` then `VtepMAC`, the MAC in lower-case hex.
    static func vxlanBackendData(identifier: UInt32, vtepMAC: MACAddress) -> String {
        #"{"VNI":\#(identifier),"VtepMAC":"\#(vtepMAC)"}"#
    }
}

/// flannel's kube subnet manager as pure functions over Node objects: the node's subnet from
/// `spec.podCIDR(s)`, the annotation patch it writes when its node does not carry its lease
/// yet, the NetworkUnavailable condition, the peers learnt from other nodes' annotations and
/// the VTEP MAC a restart reuses.
struct KubeSubnetManager: Hashable, Sendable {
    let annotations: FlannelAnnotations

    /// The IPv4 pod CIDR of `node` (from `spec.podCIDRs`, else `spec.podCIDR`); nil when none
    /// is assigned yet. More than two pod CIDRs, or an unparsable one, is an error.
    func subnet(of node: Node) throws(AgentError) -> IPNetwork? {
        let cidrs = node.podCIDRs
        guard cidrs.count < 3 else { throw AgentError(.invalidConfiguration, "node \(node.name): pod CIDRs should be IPv4/IPv6 only or dual stack: \(cidrs)") }
        for cidr in cidrs {
            guard let network = try? IPNetwork(parsing: cidr) else {
                throw AgentError(.invalidConfiguration, "node \(node.name): pod CIDR \(cidr) is not a CIDR")
            }
            if network.family == .v4 { return network.network }
        }
        return nil
    }

    /// The address published as `public-ip`: the overwrite annotation when set, else `own`.
    func publicIP(of node: Node, own: IPAddress) -> IPAddress {
        node.annotations[annotations.publicIPOverwrite].flatMap { try? IPAddress(parsing: $0) } ?? own
    }

    /// The strategic-merge patch (sent to `nodes/NAME/status`, as flannel does) that makes
    /// `node` carry `lease`; nil when it already does.
    func annotationPatch(for node: Node, lease: PublishedLease) -> JSONValue? {
        let current = node.annotations
        let publicIP = self.publicIP(of: node, own: lease.publicIP).description
        guard current[annotations.backendData] != lease.backendData || current[annotations.backendType] != lease.backendType
            || current[annotations.publicIP] != publicIP || current[annotations.kubeSubnetManager] != "true"
        else { return nil }
        var wanted: JSONObject = [
            annotations.backendType: .string(lease.backendType),
            annotations.kubeSubnetManager: "true",
        ]
        // flannel leaves backend-data and public-ip alone for a vxlan lease without data.
        if lease.backendType != "vxlan" || lease.backendData != "null" {
            wanted[annotations.backendData] = .string(lease.backendData)
            wanted[annotations.publicIP] = .string(publicIP)
        }
        return ["metadata": ["annotations": .object(wanted)]]
    }

    /// flannel's condition once the lease is complete: NetworkUnavailable False, reason
    /// `FlannelIsUp`, as a strategic-merge patch of `nodes/NAME/status` (conditions merge by
    /// `type`). `time` is RFC 3339 (`2026-12-07T01:00:00Z`).
    static func networkAvailablePatch(time: String) -> JSONValue {
        let condition: JSONObject = [
            "type": "NetworkUnavailable", "status": "False", "lastHeartbeatTime": .string(time),
            "lastTransitionTime": .string(time), "reason": "FlannelIsUp", "message": "Flannel is running on this node",
        ]
        return ["status": ["conditions": [.object(condition)]]]
    }

    /// A peer from another node's annotations, as flannel turns a node into a lease: only
    /// nodes marked `kube-subnet-manager: "true"`, with a `public-ip`, an IPv4 pod CIDR and
    /// `backendType` (other backends are ignored, as flannel's backends ignore them).
    func peer(from node: Node, backendType: String) -> RemoteNode? {
        let values = node.annotations
        guard values[annotations.kubeSubnetManager] == "true", values[annotations.backendType] == backendType,
              let address = values[annotations.publicIP].flatMap({ try? IPAddress(parsing: $0) }), address.family == .v4,
              let subnet = try? self.subnet(of: node)
        else { return nil }
        var mac: MACAddress?
        if backendType == "vxlan" {
            guard let data = values[annotations.backendData].flatMap(Self.vtepMAC(backendData:)) else { return nil }
            mac = data
        }
        return RemoteNode(subnet: subnet, address: address, vtepMACAddress: mac)
    }

    /// The VTEP MAC of a node's `backend-data` (what flannel reads back after a restart).
    func storedVTEPMAC(of node: Node) -> MACAddress? {
        node.annotations[annotations.backendData].flatMap(Self.vtepMAC(backendData:))
    }

    static func vtepMAC(backendData: String) -> MACAddress? {
        guard let json = try? JSONValue.decode(Array(backendData.utf8)),
              let text = json["VtepMAC"]?.stringValue
        else { return nil }
        return try? MACAddress(parsing: text)
    }
}
