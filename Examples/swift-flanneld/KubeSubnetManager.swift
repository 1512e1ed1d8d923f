import AgentHTTP
import Kubernetes
import NetPrimitives

/// The names of flannel's node annotations under a prefix (`--kube-annotation-prefix`,
/// default `flannel.alpha.coreos.com`): `<prefix>/backend-type`, `/backend-data`,
/// `/public-ip`, `/public-ip-overwrite`, `/kube-subnet-manager`, and for IPv6
/// `/backend-v6-data`, `/public-ipv6`, `/public-ipv6-overwrite`. As flannel: a prefix without
/// a slash gets `/` appended, one with a slash not ending in `/` or `-` gets `-`; it must
/// look like `fqdn/[a-z0-9_-]*`.
struct FlannelAnnotations: Hashable, Sendable {
    static let defaultPrefix = "flannel.alpha.coreos.com"

    let kubeSubnetManager: String
    let backendType: String
    let backendData: String
    let publicIP: String
    let publicIPOverwrite: String
    let backendV6Data: String
    let publicIPv6: String
    let publicIPv6Overwrite: String

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
        backendV6Data = prefix + "backend-v6-data"
        publicIPv6 = prefix + "public-ipv6"
        publicIPv6Overwrite = prefix + "public-ipv6-overwrite"
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

/// What this node publishes on its Node object, flannel's lease attributes: per family the
/// backend data and public address (nil: the family is not enabled).
struct PublishedLease: Hashable, Sendable {
    /// `vxlan` or `host-gw`.
    var backendType: String
    /// The exact JSON text flannel writes: `{"VNI":1,"VtepMAC":"0e:…"}` for vxlan, `null`
    /// for host-gw.
    var backendData: String
    var publicIP: IPAddress?
    /// The same for IPv6 (`backend-v6-data`: the `flannel-v6.<VNI>` VTEP's MAC with vxlan).
    var backendV6Data: String = "null"
    var publicIPv6: IPAddress? = nil

    /// flannel's vxlan backend data: compact, `VNI` then `VtepMAC`, the MAC in lower-case hex.
    static func vxlanBackendData(identifier: UInt32, vtepMAC: MACAddress) -> String {
        #"{"VNI":\#(identifier),"VtepMAC":"\#(vtepMAC)"}"#
    }
}

/// flannel's kube subnet manager as pure functions over Node objects: the node's subnets from
/// `spec.podCIDR(s)` (one per family), the annotation patch it writes when its node does not
/// carry its lease yet, the NetworkUnavailable condition, the peers learnt from other nodes'
/// annotations (per family) and the VTEP MACs a restart reuses.
struct KubeSubnetManager: Hashable, Sendable {
    let annotations: FlannelAnnotations

    /// The pod CIDR of `family` of `node` (from `spec.podCIDRs`, else `spec.podCIDR`); nil when
    /// none is assigned yet. More than two pod CIDRs, or an unparsable one, is an error.
    func subnet(of node: Node, family: IPAddress.Family = .v4) throws(AgentError) -> IPNetwork? {
        let cidrs = node.podCIDRs
        guard cidrs.count < 3 else { throw AgentError(.invalidConfiguration, "node \(node.name): pod CIDRs should be IPv4/IPv6 only or dual stack: \(cidrs)") }
        for cidr in cidrs {
            guard let network = try? IPNetwork(parsing: cidr) else {
                throw AgentError(.invalidConfiguration, "node \(node.name): pod CIDR \(cidr) is not a CIDR")
            }
            if network.family == family { return network.network }
        }
        return nil
    }

    /// The address published as `public-ip` (`public-ipv6` for an IPv6 `own`): the overwrite
    /// annotation of its family when set, else `own`.
    func publicIP(of node: Node, own: IPAddress) -> IPAddress {
        let key = own.family == .v4 ? annotations.publicIPOverwrite : annotations.publicIPv6Overwrite
        return node.annotations[key].flatMap { try? IPAddress(parsing: $0) }.flatMap { $0.family == own.family ? $0 : nil } ?? own
    }

    /// The strategic-merge patch (sent to `nodes/NAME/status`, as flannel does) that makes
    /// `node` carry `lease`; nil when it already does. Each family the lease has is compared
    /// and written: `backend-data` and `public-ip` for IPv4, `backend-v6-data` and
    /// `public-ipv6` for IPv6.
    func annotationPatch(for node: Node, lease: PublishedLease) -> JSONValue? {
        let current = node.annotations
        let publicIP = lease.publicIP.map { self.publicIP(of: node, own: $0).description }
        let publicIPv6 = lease.publicIPv6.map { self.publicIP(of: node, own: $0).description }
        var stale = current[annotations.backendType] != lease.backendType || current[annotations.kubeSubnetManager] != "true"
        if let publicIP {
            stale = stale || current[annotations.backendData] != lease.backendData || current[annotations.publicIP] != publicIP
        }
        if let publicIPv6 {
            stale = stale || current[annotations.backendV6Data] != lease.backendV6Data || current[annotations.publicIPv6] != publicIPv6
        }
        guard stale else { return nil }
        var wanted: JSONObject = [
            annotations.backendType: .string(lease.backendType),
            annotations.kubeSubnetManager: "true",
        ]
        // flannel leaves a family's data and address alone for a vxlan lease without data.
        if let publicIP, lease.backendType != "vxlan" || lease.backendData != "null" {
            wanted[annotations.backendData] = .string(lease.backendData)
            wanted[annotations.publicIP] = .string(publicIP)
        }
        if let publicIPv6, lease.backendType != "vxlan" || lease.backendV6Data != "null" {
            wanted[annotations.backendV6Data] = .string(lease.backendV6Data)
            wanted[annotations.publicIPv6] = .string(publicIPv6)
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

    /// A peer of `family` from another node's annotations, as flannel turns a node into a
    /// lease: only nodes marked `kube-subnet-manager: "true"` with `backendType` (other
    /// backends are ignored, as flannel's backends ignore them), a pod CIDR of the family and
    /// its address (`public-ip`, or `public-ipv6` for IPv6); with vxlan also its VTEP MAC
    /// (`backend-data`, or `backend-v6-data`).
    func peer(from node: Node, backendType: String, family: IPAddress.Family = .v4) -> RemoteNode? {
        let values = node.annotations
        let (addressKey, dataKey) = family == .v4 ? (annotations.publicIP, annotations.backendData) : (annotations.publicIPv6, annotations.backendV6Data)
        guard values[annotations.kubeSubnetManager] == "true", values[annotations.backendType] == backendType,
              let address = values[addressKey].flatMap({ try? IPAddress(parsing: $0) }), address.family == family,
              let subnet = try? self.subnet(of: node, family: family)
        else { return nil }
        var mac: MACAddress?
        if backendType == "vxlan" {
            guard let data = values[dataKey].flatMap(Self.vtepMAC(backendData:)) else { return nil }
            mac = data
        }
        return RemoteNode(subnet: subnet, address: address, vtepMACAddress: mac)
    }

    /// The VTEP MAC of a node's `backend-data` (`backend-v6-data` for IPv6), what flannel reads
    /// back after a restart.
    func storedVTEPMAC(of node: Node, family: IPAddress.Family = .v4) -> MACAddress? {
        node.annotations[family == .v4 ? annotations.backendData : annotations.backendV6Data].flatMap(Self.vtepMAC(backendData:))
    }

    static func vtepMAC(backendData: String) -> MACAddress? {
        guard let json = try? JSONValue.decode(Array(backendData.utf8)),
              let text = json["VtepMAC"]?.stringValue
        else { return nil }
        return try? MACAddress(parsing: text)
    }
}
