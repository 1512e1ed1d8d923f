#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import KubernetesCore

/// A kubeconfig file (`~/.kube/config`, `--kubeconfig F`): clusters, users, contexts and the
/// current context.
///
/// Understood: a cluster's `server`, `certificate-authority`, `certificate-authority-data`,
/// `insecure-skip-tls-verify`, `tls-server-name`; a user's `token`, `tokenFile`,
/// `client-certificate(-data)`, `client-key(-data)`; a context's `cluster`, `user`,
/// `namespace`. Relative file paths are relative to the kubeconfig's directory, as kubectl
/// reads them. Exec and auth-provider plugins are not supported (an error says so).
///
/// The file is read by KubernetesCore's `KubeconfigFile` (the one kubeconfig
/// model, shared with the plugins): the YAML subset kubeconfigs are written in, or JSON.
public struct Kubeconfig: Sendable {
    public typealias Cluster = KubeconfigFile.Cluster
    public typealias User = KubeconfigFile.User
    public typealias Context = KubeconfigFile.Context

    public var clusters: [String: Cluster]
    public var users: [String: User]
    public var contexts: [String: Context]
    public var currentContext: String?
    /// The directory relative paths are resolved against.
    public var directory: String

    /// Parses kubeconfig YAML (the subset kubeconfigs use) or JSON.
    public init(yaml: String, directory: String = ".") throws {
        let file: KubeconfigFile
        do { file = try KubeconfigFile(text: yaml, directory: directory) } catch {
            throw KubernetesError(.invalidConfiguration, error.message)
        }
        clusters = file.clusters
        users = file.users
        contexts = file.contexts
        currentContext = file.currentContext
        self.directory = directory
    }

    /// Reads and parses a kubeconfig file.
    public init(contentsOf path: String) throws {
        let bytes = try readConfigurationFile(path, what: "kubeconfig")
        let directory = path.contains("/") ? String(path[..<path.lastIndex(of: "/")!]) : "."
        try self.init(yaml: String(decoding: bytes, as: UTF8.self), directory: directory.isEmpty ? "/" : directory)
    }

    /// The client configuration of `context` (default: the current context).
    public func configuration(context name: String? = nil) throws -> ClientConfiguration {
        guard let contextName = name ?? currentContext else {
            throw KubernetesError(.invalidConfiguration, "kubeconfig has no current-context and none was given")
        }
        guard let context = contexts[contextName] else {
            throw KubernetesError(.invalidConfiguration, "kubeconfig has no context '\(contextName)'")
        }
        guard let cluster = clusters[context.cluster] else {
            throw KubernetesError(.invalidConfiguration, "context '\(contextName)' names cluster '\(context.cluster)', which the kubeconfig does not define")
        }
        guard !cluster.server.isEmpty else {
            throw KubernetesError(.invalidConfiguration, "cluster '\(context.cluster)' has no server")
        }
        var user = User(usesPlugin: false)
        if let userName = context.user, !userName.isEmpty {
            guard let found = users[userName] else {
                throw KubernetesError(.invalidConfiguration, "context '\(contextName)' names user '\(userName)', which the kubeconfig does not define")
            }
            user = found
        }
        if user.usesPlugin {
            throw KubernetesError(.invalidConfiguration, "user '\(context.user ?? "")' uses an exec or auth-provider plugin, which is not supported")
        }
        let authority: [UInt8]? = try material(
            data: cluster.certificateAuthorityData, file: cluster.certificateAuthority, what: "certificate-authority")
        var token: BearerToken?
        if let value = user.token, !value.isEmpty {
            token = .literal(value)
        } else if let file = user.tokenFile, !file.isEmpty {
            token = .file(resolve(file))
        }
        var certificate: ClientCertificate?
        let certificatePEM = try material(data: user.clientCertificateData, file: user.clientCertificate, what: "client-certificate")
        let keyPEM = try material(data: user.clientKeyData, file: user.clientKey, what: "client-key")
        switch (certificatePEM, keyPEM) {
        case (let cert?, let key?): certificate = ClientCertificate(certificatePEM: cert, privateKeyPEM: key)
        case (nil, nil): break
        default:
            throw KubernetesError(.invalidConfiguration, "user '\(context.user ?? "")' has a client certificate without a key, or a key without a certificate")
        }
        return try ClientConfiguration(
            server: cluster.server, certificateAuthorityPEM: authority, insecureSkipTLSVerify: cluster.insecureSkipTLSVerify,
            tlsServerName: cluster.tlsServerName, token: token, clientCertificate: certificate, namespace: context.namespace)
    }

    private func resolve(_ path: String) -> String { path.hasPrefix("/") ? path : directory + "/" + path }

    private func material(data: String?, file: String?, what: String) throws -> [UInt8]? {
        if let data, !data.isEmpty {
            guard let decoded = Data(base64Encoded: data, options: .ignoreUnknownCharacters) else {
                throw KubernetesError(.invalidConfiguration, "kubeconfig: \(what)-data is not valid base64")
            }
            return Array(decoded)
        }
        if let file, !file.isEmpty { return try readConfigurationFile(resolve(file), what: what) }
        return nil
    }
}

extension ClientConfiguration {
    /// The default directory of a pod's service account files.
    public static let serviceAccountDirectory = "/var/run/secrets/kubernetes.io/serviceaccount"

    /// The configuration of a process running in a pod: the API server from
    /// `KUBERNETES_SERVICE_HOST`/`KUBERNETES_SERVICE_PORT`, trust from `ca.crt`, the token from
    /// `token` (read again whenever the kubelet rotates it), the namespace from `namespace`.
    public static func inCluster(
        environment: [String: String], serviceAccountDirectory directory: String = serviceAccountDirectory
    ) throws -> ClientConfiguration {
        guard let host = environment["KUBERNETES_SERVICE_HOST"], !host.isEmpty,
            let port = environment["KUBERNETES_SERVICE_PORT"], !port.isEmpty
        else {
            throw KubernetesError(
                .invalidConfiguration, "not running in a cluster: KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT must be set")
        }
        let tokenPath = directory + "/token"
        let token = BearerToken.file(tokenPath)
        _ = try token.current()
        let authority = try readConfigurationFile(directory + "/ca.crt", what: "service account CA")
        let namespace = (try? readConfigurationFile(directory + "/namespace", what: "namespace"))
            .map { String(decoding: $0, as: UTF8.self).trimmedWhitespace() }
        let shownHost = host.contains(":") ? "[\(host)]" : host
        return try ClientConfiguration(
            server: "https://\(shownHost):\(port)", certificateAuthorityPEM: authority, token: token, namespace: namespace)
    }
}
