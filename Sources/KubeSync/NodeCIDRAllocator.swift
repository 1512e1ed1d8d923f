import Kubernetes
import NetPrimitives

/// Node CIDR allocation for clusters without a controller-manager (`--allocate-node-cidrs
/// --cluster-cidr C --node-cidr-mask-size N`), as kube-controller-manager's range allocator
/// does it: each node without `spec.podCIDR` gets the lowest /N of the cluster CIDR that no
/// node holds, written once (the API refuses to change a podCIDR). Pure: nodes in, the
/// assignments out.
public struct NodeCIDRAllocator: Sendable {
    public let clusterCIDR: IPNetwork
    public let maskSize: Int

    public init(clusterCIDR: String, maskSize: Int) throws(KubeSyncError) {
        guard let network = try? IPNetwork(parsing: clusterCIDR), network.network == network else {
            throw KubeSyncError(.invalidArgument, "cluster CIDR '\(clusterCIDR)' is not a network address with a prefix length")
        }
        let width = network.family == .v4 ? 32 : 128
        guard maskSize >= network.prefixLength, maskSize <= width else {
            throw KubeSyncError(
                .invalidArgument, "node CIDR mask size \(maskSize) must lie between the cluster CIDR's \(network.prefixLength) and \(width)")
        }
        self.clusterCIDR = network
        self.maskSize = maskSize
    }

    /// The CIDR to give each node that has none (by node name), lowest free first, nodes in name
    /// order. Nodes beyond the free CIDRs are reported as ``KubeSyncError/Code/cidrsExhausted``.
    public func assignments(for nodes: [Node]) -> (assignments: [String: String], problems: [KubeSyncError]) {
        var used: [IPNetwork] = []
        for node in nodes {
            for text in node.podCIDRs { if let cidr = try? IPNetwork(parsing: text) { used.append(cidr) } }
        }
        var assignments: [String: String] = [:]
        var problems: [KubeSyncError] = []
        let waiting = nodes.filter { $0.podCIDRs.isEmpty }.sorted { $0.name < $1.name }
        guard !waiting.isEmpty else { return ([:], []) }
        var candidates: IPNetwork.SubnetSequence.Iterator? = try? clusterCIDR.subnets(prefixLength: maskSize).makeIterator()
        for node in waiting {
            var found: IPNetwork?
            while let candidate = candidates?.next() {
                if !used.contains(where: { $0.overlaps(candidate) }) {
                    found = candidate
                    break
                }
            }
            guard let found else {
                problems.append(KubeSyncError(.cidrsExhausted, "no free /\(maskSize) left in \(clusterCIDR) for node \(node.name)"))
                continue
            }
            used.append(found)
            assignments[node.name] = "\(found)"
        }
        return (assignments, problems)
    }

    /// The merge patch that sets a node's pod CIDR (`spec.podCIDR` and `spec.podCIDRs`).
    public static func patch(cidr: String) -> JSONValue {
        ["spec": ["podCIDR": .string(cidr), "podCIDRs": [.string(cidr)]]]
    }
}
