#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// The `kubernetes` section of a plugin's network configuration, under Calico's name:
///
/// ```json
/// {"type": "swift-calico", "kubernetes": {"kubeconfig": "/etc/cni/net.d/calico-kubeconfig"}, …}
/// ```
///
/// With a kubeconfig, ADD reads the pod (`K8S_POD_NAMESPACE`, `K8S_POD_NAME`) from the API
/// server and writes its labels and named ports into the pod record, as Calico's plugin does
/// with `policy.type: k8s`, so policy selecting on labels applies from the pod's first packet.
public struct KubernetesSettings: Decodable, Sendable, Hashable {
    /// The kubeconfig file (Calico's `kubernetes.kubeconfig`).
    public var kubeconfig: String?

    public init(kubeconfig: String? = nil) { self.kubeconfig = kubeconfig }

    private struct Envelope: Decodable { var kubernetes: KubernetesSettings? }

    /// The section of a network configuration (other keys ignored); nil without one or
    /// without a kubeconfig in it.
    public static func decode(networkConfiguration bytes: [UInt8]) throws(KubernetesCoreError) -> KubernetesSettings? {
        let envelope: Envelope
        do { envelope = try JSONDecoder().decode(Envelope.self, from: Data(bytes)) } catch {
            throw KubernetesCoreError(.invalidConfiguration, "the \"kubernetes\" section does not decode: \(error)")
        }
        guard let settings = envelope.kubernetes, let path = settings.kubeconfig, !path.isEmpty else { return nil }
        return settings
    }

    /// The pod read through the kubeconfig's current context.
    public func pod(namespace: String, name: String, timeoutMilliseconds: Int = 5000) throws(KubernetesCoreError) -> PodInfo {
        guard let kubeconfig else { throw KubernetesCoreError(.invalidConfiguration, "no kubernetes.kubeconfig given") }
        let access = try KubeconfigFile(contentsOf: kubeconfig).access()
        return try KubernetesReader(access: access, timeoutMilliseconds: timeoutMilliseconds).pod(namespace: namespace, name: name)
    }
}
