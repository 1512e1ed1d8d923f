#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import HTTPTransport

/// The `kubernetes` section of a plugin's network configuration, under Calico's name:
///
/// ```json
/// {"type": "swift-calico", "kubernetes": {"kubeconfig": "/etc/cni/net.d/calico-kubeconfig"}, …}
/// ```
///
/// With a kubeconfig or an API root (`kubernetes.k8s_api_root`), ADD reads the pod (`K8S_POD_NAMESPACE`, `K8S_POD_NAME`) from the API
/// server and writes its labels and named ports into the pod record, as Calico's plugin does
/// with `policy.type: k8s`, so policy selecting on labels applies from the pod's first packet.
public struct KubernetesSettings: Decodable, Sendable, Hashable {
    /// The kubeconfig file (Calico's `kubernetes.kubeconfig`).
    public var kubeconfig: String?
    /// The API server's URL (Calico's `kubernetes.k8s_api_root`): without a kubeconfig, the
    /// server to read from; with one, it replaces the kubeconfig's server.
    public var apiRoot: String?
    /// Calico's `policy` section, a sibling of `kubernetes` in the network configuration.
    public var policy: PolicySettings?

    /// Calico's `policy` section: `type` (`k8s`: read the pod's labels and named ports at ADD)
    /// and the credentials Calico accepts beside an API root (each replaces the kubeconfig's).
    public struct PolicySettings: Decodable, Sendable, Hashable {
        /// `type`: `k8s` turns the pod read on; any other value turns it off.
        public var type: String?
        /// `k8s_api_root` (a trailing `/api/…`, which older Calico configurations carry, is cut).
        public var apiRoot: String?
        /// `k8s_auth_token`: a bearer token.
        public var authToken: String?
        /// `k8s_client_certificate` and `k8s_client_key`: PEM files.
        public var clientCertificate: String?
        public var clientKey: String?
        /// `k8s_certificate_authority`: the PEM CA file.
        public var certificateAuthority: String?

        public init(
            type: String? = nil, apiRoot: String? = nil, authToken: String? = nil, clientCertificate: String? = nil,
            clientKey: String? = nil, certificateAuthority: String? = nil
        ) {
            self.type = type
            self.apiRoot = apiRoot
            self.authToken = authToken
            self.clientCertificate = clientCertificate
            self.clientKey = clientKey
            self.certificateAuthority = certificateAuthority
        }

        enum CodingKeys: String, CodingKey {
            case type, apiRoot = "k8s_api_root", authToken = "k8s_auth_token", clientCertificate = "k8s_client_certificate"
            case clientKey = "k8s_client_key", certificateAuthority = "k8s_certificate_authority"
        }
    }

    public init(kubeconfig: String? = nil, apiRoot: String? = nil, policy: PolicySettings? = nil) {
        self.kubeconfig = kubeconfig
        self.apiRoot = apiRoot
        self.policy = policy
    }

    enum CodingKeys: String, CodingKey {
        case kubeconfig, apiRoot = "k8s_api_root"
    }

    private struct Envelope: Decodable {
        var kubernetes: KubernetesSettings?
        var policy: PolicySettings?
    }

    /// Whether ADD reads the pod: as Calico with `policy.type: k8s`; without a `policy`
    /// section, whenever an API server is named (swift-calico's reading of a bare
    /// `kubernetes.kubeconfig`); never with another policy type.
    public var readsPod: Bool {
        if let type = policy?.type, !type.isEmpty { return type == "k8s" }
        return policy == nil && namesServer
    }

    private var namesServer: Bool {
        [kubeconfig, apiRoot, policy?.apiRoot].contains { !($0 ?? "").isEmpty }
    }

    /// The sections of a network configuration (other keys ignored); nil when ADD does not
    /// read the pod (no section, no server named, or a policy type other than `k8s`).
    /// Throws for `policy.type: k8s` without a kubeconfig or an API root.
    public static func decode(networkConfiguration bytes: [UInt8]) throws(KubernetesCoreError) -> KubernetesSettings? {
        let envelope: Envelope
        do { envelope = try JSONDecoder().decode(Envelope.self, from: Data(bytes)) } catch {
            throw KubernetesCoreError(.invalidConfiguration, "the \"kubernetes\" or \"policy\" section does not decode: \(error)")
        }
        var settings = envelope.kubernetes ?? KubernetesSettings()
        settings.policy = envelope.policy
        guard settings.readsPod else { return nil }
        guard settings.namesServer else {
            throw KubernetesCoreError(
                .invalidConfiguration, "policy.type k8s needs kubernetes.kubeconfig, kubernetes.k8s_api_root or policy.k8s_api_root")
        }
        return settings
    }

    /// How to reach the API server, as Calico combines its settings: the kubeconfig's current
    /// context (if any), then `policy.k8s_api_root`, `k8s_client_certificate`, `k8s_client_key`,
    /// `k8s_certificate_authority` and `k8s_auth_token` over it, then `kubernetes.k8s_api_root`
    /// over the server.
    public func access() throws(KubernetesCoreError) -> APIServerAccess {
        var access: APIServerAccess?
        if let kubeconfig, !kubeconfig.isEmpty { access = try KubeconfigFile(contentsOf: kubeconfig).access() }
        let root = [apiRoot, policy?.apiRoot.map(Self.cutAPIPath)].compactMap { $0 }.first { !$0.isEmpty }
        if let root {
            let trimmed = root.hasSuffix("/") ? String(root.dropLast()) : root
            let endpoint: HTTPEndpoint
            do { endpoint = try HTTPEndpoint(parsing: trimmed, schemeRequired: true, allowsPath: false) } catch {
                throw KubernetesCoreError(.invalidConfiguration, "k8s_api_root \(root): \(error.message)")
            }
            if access == nil { access = APIServerAccess(endpoint: endpoint) } else { access?.endpoint = endpoint }
        }
        guard var access else { throw KubernetesCoreError(.invalidConfiguration, "no kubernetes.kubeconfig or k8s_api_root given") }
        if let policy {
            if let token = policy.authToken, !token.isEmpty { access.token = token }
            if let file = policy.certificateAuthority, !file.isEmpty { access.tls.certificateAuthority = .file(file) }
            if let file = policy.clientCertificate, !file.isEmpty { access.tls.certificate = .file(file) }
            if let file = policy.clientKey, !file.isEmpty { access.tls.key = .file(file) }
            if (access.tls.certificate == nil) != (access.tls.key == nil) {
                throw KubernetesCoreError(.invalidConfiguration, "policy.k8s_client_certificate and policy.k8s_client_key go together")
            }
        }
        return access
    }

    /// `https://host:6443/api/v1/` → `https://host:6443` (Calico cuts at `/api/`).
    static func cutAPIPath(_ root: String) -> String {
        guard let range = root.firstRange(of: "/api/") else { return root }
        return String(root[..<range.lowerBound])
    }

    /// The pod read through ``access()``.
    public func pod(namespace: String, name: String, timeoutMilliseconds: Int = 5000) throws(KubernetesCoreError) -> PodInfo {
        try KubernetesReader(access: try access(), timeoutMilliseconds: timeoutMilliseconds).pod(namespace: namespace, name: name)
    }

    /// Where the pod is read from, for messages: the kubeconfig and/or the API root.
    public var sourceDescription: String {
        var parts: [String] = []
        if let kubeconfig, !kubeconfig.isEmpty { parts.append("kubernetes.kubeconfig \(kubeconfig)") }
        if let root = apiRoot ?? policy?.apiRoot, !root.isEmpty { parts.append("k8s_api_root \(root)") }
        return parts.joined(separator: ", ")
    }
}
