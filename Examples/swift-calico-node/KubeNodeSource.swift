import AgentHTTP
import Foundation
import Kubernetes
import Logging
import NetPrimitives

/// `--kubeconfig` (or `--kube-in-cluster`): the BGP mesh comes from the Kubernetes API's
/// Nodes instead of the store's node records, as calico-node does with the Kubernetes
/// datastore. The agent publishes its address (and AS) as Calico's node annotations with an
/// update of `nodes/NAME/status`, sets NetworkUnavailable False (`CalicoIsUp`), and peers with
/// every other Node that carries `projectcalico.org/IPv4Address`.
final class KubeNodeSource: Sendable {
    let client: KubernetesClient
    let informer: Informer<Node>
    let node: String
    let address: IPNetwork
    let asNumber: UInt32?
    let logger: Logger

    /// `kubeconfig` nil: the pod's service account.
    init(kubeconfig: String?, node: String, address: IPNetwork, asNumber: UInt32?, logger: Logger) throws {
        let configuration: ClientConfiguration
        do {
            configuration = try kubeconfig.map { try Kubeconfig(contentsOf: $0).configuration() }
                ?? ClientConfiguration.inCluster(environment: ProcessInfo.processInfo.environment)
        } catch let error as KubernetesError {
            throw AgentError(.invalidConfiguration, "Kubernetes client configuration: \(error.message)")
        }
        client = try KubernetesClient(configuration: configuration)
        informer = Informer(client: client, type: Node.self, logger: logger)
        self.node = node
        self.address = address
        self.asNumber = asNumber
        self.logger = logger
    }

    /// Writes the annotations (an update at the version read, again on a conflict) and the
    /// condition. Credentials, TLS and authorisation failures are thrown as they are.
    func publish() async throws {
        for _ in 0..<10 {
            let current = try await client.get(Node.self, name: node)
            guard let updated = CalicoNodeAnnotations.updated(current, address: address, asNumber: asNumber) else { break }
            do {
                _ = try await client.updateStatus(updated)
                logger.info("published \(CalicoNodeAnnotations.ipv4Address)=\(address) on node \(node)")
                break
            } catch let error as KubernetesError where error.code == .conflict {
                continue
            }
        }
        _ = try await client.patch(
            Node.self, name: node, patch: CalicoNodeAnnotations.networkAvailablePatch(time: Date.now.formatted(.iso8601)),
            type: .strategicMerge, subresource: "status")
    }

    /// The other nodes of the mesh, from the informer's cache.
    func meshNodes() async -> [MeshNode] {
        await informer.snapshot().values.filter { $0.name != node }.compactMap(CalicoNodeAnnotations.meshNode)
            .sorted { $0.name < $1.name }
    }

    /// Lists and watches Nodes until cancelled, calling `changed` after every change.
    func run(changed: @escaping @Sendable () -> Void) async {
        let events = await informer.events()
        let forwarder = Task { for await _ in events { changed() } }
        await informer.run()
        forwarder.cancel()
    }

    func waitUntilSynced() async { await informer.waitUntilSynced() }

    func isSynced() async -> Bool { await informer.hasSynced }
}
