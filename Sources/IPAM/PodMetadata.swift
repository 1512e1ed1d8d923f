import CNISpec
import Datastore
import KubernetesCore

/// What the policy agent needs of a pod beyond its addresses, read from the Kubernetes API at
/// ADD when the network configuration names a kubeconfig (Calico's
/// `"kubernetes": {"kubeconfig": PATH}`): its labels and its containers' named ports, written
/// into the pod record so policy selecting on labels applies from the pod's first packet.
///
/// As Calico's plugin (with `policy.type: k8s`) does, a failed read fails ADD: an API server
/// that cannot be reached, a pod the API does not know, credentials it refuses. A pod without
/// the labels its policy selects on would be open (or closed) until an agent caught up.
public struct PodMetadata: Sendable, Hashable {
    public var labels: [String: String]
    public var ports: [PortRecord]

    public init(labels: [String: String] = [:], ports: [PortRecord] = []) {
        self.labels = labels
        self.ports = ports
    }

    public init(_ pod: PodInfo) {
        self.init(labels: pod.labels, ports: pod.namedPorts.map { PortRecord(name: $0.name, port: $0.port, protocol: $0.protocol) })
    }

    /// The pod's metadata from the API, or nil when the configuration names no kubeconfig or
    /// the runtime passed no `K8S_POD_NAMESPACE` and `K8S_POD_NAME` (not a Kubernetes pod).
    /// Failures are CNI errors naming the pod, the kubeconfig and the server: 11 (try again
    /// later) when the server cannot be reached or answers with a server error, 7 for a
    /// kubeconfig, TLS or credential problem, 999 for a pod the API does not know.
    public static func fetch(_ request: PluginRequest, timeoutMilliseconds: Int = 5000) throws(CNIError) -> PodMetadata? {
        // Most ADDs have no section: skip the second decode of the configuration then.
        guard request.arguments["K8S_POD_NAME"] != nil,
            Self.mentions("\"kubernetes\"", request.configurationBytes) || Self.mentions("\"policy\"", request.configurationBytes)
        else { return nil }
        let settings: KubernetesSettings?
        do { settings = try KubernetesSettings.decode(networkConfiguration: Array(request.configurationBytes)) } catch {
            throw CNIError(.invalidNetworkConfig, "invalid \"kubernetes\" section", details: error.message)
        }
        guard let settings,
            let namespace = request.arguments["K8S_POD_NAMESPACE"], !namespace.isEmpty,
            let name = request.arguments["K8S_POD_NAME"], !name.isEmpty
        else { return nil }
        do {
            return PodMetadata(try settings.pod(namespace: namespace, name: name, timeoutMilliseconds: timeoutMilliseconds))
        } catch {
            let code: CNIError.Code =
                switch error.code {
                case .unavailable, .timedOut, .serverError: .tryAgainLater
                case .notFound, .protocolError: .internal
                default: .invalidNetworkConfig
                }
            throw CNIError(
                code, "failed to read pod \(namespace)/\(name) from the Kubernetes API (\(settings.sourceDescription))",
                details: "\(error)")
        }
    }

    /// Whether the bytes contain `word` (`"kubernetes"` or `"policy"`: a key named so, or a
    /// value: then the decode decides).
    static func mentions(_ word: String, _ bytes: [UInt8]) -> Bool {
        let needle = Array(word.utf8)
        guard bytes.count >= needle.count else { return false }
        var start = 0
        while start + needle.count <= bytes.count {
            guard let first = bytes[start...].firstIndex(of: needle[0]), first + needle.count <= bytes.count else { return false }
            if bytes[first..<first + needle.count].elementsEqual(needle) { return true }
            start = first + 1
        }
        return false
    }
}
