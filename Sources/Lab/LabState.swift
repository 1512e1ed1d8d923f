import Foundation
internal import SystemSupport

/// What a lab's state directory records (`state.json`): enough to use, inspect and tear down
/// the lab from another process, written before each creation so a crash leaves a trail.
/// Its entries are the lab's own bookkeeping (namespaces, processes); the cluster's pod and
/// node records are Datastore's `PodRecord`/`NodeRecord`, published to the store.
struct LabState: Codable, Sendable {
    var lab: String
    var plugin: LabProfileRecord
    var store: String
    var nodes: [NodeEntry] = []
    var pods: [PodEntry] = []
    var nextPodIndex = 0
    /// Every namespace the lab created or was about to create.
    var namespaces: [String] = []
    /// Every long-running process the lab started (etcd, agents, pod servers).
    var processes: [ProcessRecord] = []
    /// Namespace labels (`kubernetes.io/metadata.name` is set on first use).
    var namespaceLabels: [String: [String: String]] = [:]
    /// Set when the lab runs the API server and swift-kube-sync (`cnilab up --kube`).
    var kubernetes: KubernetesRecord?
    /// The number of underlay subnets (`cnilab up --underlay-subnets`; nil in older states: 1).
    var underlaySubnets: Int?
    /// The lab's address families (`cnilab up --ip-family`; nil: IPv4, as in older states).
    var ipFamily: LabIPFamily?

    struct KubernetesRecord: Codable, Sendable {
        var server: String
        var kubeconfig: String
    }

    struct NodeEntry: Codable, Sendable {
        var index: Int
        var name: String
        var namespace: String
        var underlayAddress: String
        /// The node's IPv6 underlay address (labs with `--ip-family ipv6|dual`).
        var underlayIPv6Address: String?
        var subnet: String?
        var agent: ProcessRecord?
    }

    struct PodEntry: Codable, Sendable {
        var namespace: String
        var name: String
        var node: Int
        var networkNamespace: String
        var containerID: String
        var address: String?
        /// Every address of the pod from the plugin's result (nil in older states: ``address``).
        var addresses: [String]?
        var labels: [String: String]
        var server: ProcessRecord?
    }

    static func load(from path: String) throws(LabError) -> LabState {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw LabError(.notFound, "no lab state at \(path)")
        }
        do { return try JSONDecoder().decode(LabState.self, from: data) } catch {
            throw LabError(.state, "cannot read \(path); `cnilab down` still removes the lab", underlying: error)
        }
    }

    func save(to path: String) throws(LabError) {
        do {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            // Replaced atomically but not fsynced: written before every creation, and a lab
            // does not outlive a crash of its machine.
            try SystemFile.writeAtomically(
                Array(encoder.encode(self)), to: path, directory: (path as NSString).deletingLastPathComponent, synchronous: false)
        } catch {
            throw LabError(.state, "cannot write \(path)", underlying: error)
        }
    }
}
