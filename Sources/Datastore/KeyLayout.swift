/// The keys every swift-cni component reads and writes (documented, with their values, in
/// `Documentation/Datastore.md`; keep them stable).
///
/// - flannel's lease keys, under its prefix (default `/coreos.com/network`):
///   `<prefix>/config`, `<prefix>/subnets/10.244.1.0-24`;
/// - the project's own keys under `/swiftcni/`: nodes, IPAM blocks, block affinities, IPAM
///   handles, pods, labels, policies.
public enum KeyLayout {
    /// flannel's default key prefix.
    public static let flannelDefaultPrefix = "/coreos.com/network"
    /// The root of the project's own keys.
    public static let root = "/swiftcni"

    /// `<prefix>/config`: flannel's network configuration JSON.
    public static func flannelConfig(prefix: String = flannelDefaultPrefix) -> String { prefix + "/config" }
    /// `<prefix>/subnets/`: the directory of subnet leases.
    public static func flannelSubnets(prefix: String = flannelDefaultPrefix) -> String { prefix + "/subnets/" }
    /// `<prefix>/subnets/10.244.1.0-24` for the subnet `10.244.1.0/24`.
    public static func flannelSubnet(_ cidr: String, prefix: String = flannelDefaultPrefix) -> String {
        flannelSubnets(prefix: prefix) + cidrKey(cidr)
    }

    /// `/swiftcni/nodes/<node>` (``NodeRecord``).
    public static func node(_ name: String) -> String { nodes + name }
    public static let nodes = root + "/nodes/"
    /// `/swiftcni/bgp/configurations/<name>`: Calico's BGPConfiguration (``BGPConfigurationRecord``;
    /// `default` is the cluster's).
    public static func bgpConfiguration(_ name: String) -> String { bgpConfigurations + name }
    public static let bgpConfigurations = root + "/bgp/configurations/"
    /// `/swiftcni/bgp/peers/<name>`: Calico's BGPPeer (``BGPPeerRecord``).
    public static func bgpPeer(_ name: String) -> String { bgpPeers + name }
    public static let bgpPeers = root + "/bgp/peers/"
    /// `/swiftcni/ipam/blocks/<10.244.0.0-26>`.
    public static func block(_ cidr: String) -> String { blocks + cidrKey(cidr) }
    public static let blocks = root + "/ipam/blocks/"
    /// `/swiftcni/ipam/affinities/<node>/<10.244.0.0-26>`.
    public static func affinity(node: String, block cidr: String) -> String { affinities(node: node) + cidrKey(cidr) }
    public static func affinities(node: String) -> String { root + "/ipam/affinities/\(node)/" }
    /// `/swiftcni/ipam/handles/<network>.<containerID>`.
    public static func handle(_ handle: String) -> String { handles + handle }
    public static let handles = root + "/ipam/handles/"
    /// `/swiftcni/ipam/ring/<peer>/`: one ring IPAM peer's records, `ring`, `allocations` and
    /// `consensus` (peer: its 48-bit name, `0a:1b:2c:3d:4e:5f`).
    public static func ringPeer(_ peer: String) -> String { ringPeers + peer + "/" }
    public static let ringPeers = root + "/ipam/ring/"
    /// `/swiftcni/pods/<namespace>/<name>`.
    public static func pod(namespace: String, name: String) -> String { pods + "\(namespace)/\(name)" }
    /// `/swiftcni/pods/`: the directory of pod records (``PodRecord``).
    public static let pods = root + "/pods/"
    /// `/swiftcni/labels/<kind>/<namespace>/<name>`.
    public static func labels(kind: String, namespace: String, name: String) -> String { root + "/labels/\(kind)/\(namespace)/\(name)" }
    /// Every policy key starts with `/swiftcni/policies/`; each holds the JSON of one document.
    public static let policies = root + "/policies/"
    /// `/swiftcni/policies/k8s/<namespace>/<name>`: a Kubernetes NetworkPolicy.
    public static func kubernetesPolicy(namespace: String, name: String) -> String { policies + "k8s/\(namespace)/\(name)" }
    /// `/swiftcni/policies/calico/<namespace>/<name>`: a namespaced Calico NetworkPolicy.
    public static func calicoPolicy(namespace: String, name: String) -> String { policies + "calico/\(namespace)/\(name)" }
    /// `/swiftcni/policies/calico/global/<name>`: a Calico GlobalNetworkPolicy.
    public static func calicoGlobalPolicy(name: String) -> String { policies + "calico/global/\(name)" }

    /// `/swiftcni/sync/kubernetes/`: swift-kube-sync's own keys (its marker of the API versions
    /// it reflects, and its claims on keys whose values cannot carry a mark).
    public static let kubernetesSync = root + "/sync/kubernetes/"
    /// `/swiftcni/sync/kubernetes/versions`: the API versions and resource versions the mirrored
    /// keys reflect.
    public static let kubernetesSyncMarker = kubernetesSync + "versions"
    /// `/swiftcni/sync/kubernetes/namespaces/<namespace>`: swift-kube-sync owns the namespace's
    /// label map (`/swiftcni/labels/namespace/_cluster/<namespace>`).
    public static func kubernetesSyncNamespaceClaim(_ namespace: String) -> String { kubernetesSyncNamespaceClaims + namespace }
    public static let kubernetesSyncNamespaceClaims = kubernetesSync + "namespaces/"
    /// `/swiftcni/labels/namespace/_cluster/`: every namespace's label map.
    public static let namespaceLabels = root + "/labels/namespace/_cluster/"

    /// A CIDR as one key component, flannel-style: `10.244.1.0/24` → `10.244.1.0-24`,
    /// `fd00::/64` → `fd00::-64`.
    public static func cidrKey(_ cidr: String) -> String {
        String(cidr.map { $0 == "/" ? "-" : $0 })
    }

    /// The inverse of ``cidrKey(_:)``: the last `-` becomes `/`.
    public static func cidr(fromKey component: String) -> String? {
        guard let dash = component.lastIndex(of: "-") else { return nil }
        return component[..<dash] + "/" + component[component.index(after: dash)...]
    }
}
