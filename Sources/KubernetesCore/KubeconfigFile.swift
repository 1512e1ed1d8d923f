#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import HTTPTransport
internal import SystemSupport

/// A kubeconfig file as a plugin reads it (Calico's `kubernetes.kubeconfig`): clusters, users,
/// contexts and the current context, without a YAML library (``KubeconfigFile/init(text:directory:source:)``
/// reads the YAML subset kubeconfigs use, and JSON).
///
/// Understood, as the Kubernetes library's `Kubeconfig` reads them: a cluster's `server`,
/// `certificate-authority`, `certificate-authority-data`, `insecure-skip-tls-verify`,
/// `tls-server-name`; a user's `token`, `tokenFile`, `client-certificate(-data)`,
/// `client-key(-data)`; a context's `cluster`, `user`, `namespace`. Relative paths are relative
/// to the kubeconfig's directory, as kubectl reads them. Exec and auth-provider plugins are not
/// supported (an error says so).
///
/// ```swift
/// let access = try KubeconfigFile(contentsOf: "/etc/cni/net.d/calico-kubeconfig").access()
/// let pod = try KubernetesReader(access: access).pod(namespace: "default", name: "web-0")
/// print(pod.labels, pod.namedPorts)
/// ```
public struct KubeconfigFile: Sendable, Hashable {
    public struct Cluster: Sendable, Hashable {
        public var server: String
        public var certificateAuthority: String?
        public var certificateAuthorityData: String?
        public var insecureSkipTLSVerify: Bool
        public var tlsServerName: String?

        public init(
            server: String, certificateAuthority: String? = nil, certificateAuthorityData: String? = nil,
            insecureSkipTLSVerify: Bool = false, tlsServerName: String? = nil
        ) {
            self.server = server
            self.certificateAuthority = certificateAuthority
            self.certificateAuthorityData = certificateAuthorityData
            self.insecureSkipTLSVerify = insecureSkipTLSVerify
            self.tlsServerName = tlsServerName
        }
    }

    public struct User: Sendable, Hashable {
        public var token: String?
        public var tokenFile: String?
        public var clientCertificate: String?
        public var clientCertificateData: String?
        public var clientKey: String?
        public var clientKeyData: String?
        /// Whether the user names an exec or auth-provider plugin (not supported).
        public var usesPlugin: Bool

        public init(
            token: String? = nil, tokenFile: String? = nil, clientCertificate: String? = nil, clientCertificateData: String? = nil,
            clientKey: String? = nil, clientKeyData: String? = nil, usesPlugin: Bool = false
        ) {
            self.token = token
            self.tokenFile = tokenFile
            self.clientCertificate = clientCertificate
            self.clientCertificateData = clientCertificateData
            self.clientKey = clientKey
            self.clientKeyData = clientKeyData
            self.usesPlugin = usesPlugin
        }
    }

    public struct Context: Sendable, Hashable {
        public var cluster: String
        public var user: String?
        public var namespace: String?

        public init(cluster: String, user: String? = nil, namespace: String? = nil) {
            self.cluster = cluster
            self.user = user
            self.namespace = namespace
        }
    }

    public var clusters: [String: Cluster]
    public var users: [String: User]
    public var contexts: [String: Context]
    public var currentContext: String?
    /// The directory relative paths are resolved against.
    public var directory: String
    /// Where the kubeconfig came from, for messages.
    public var source: String

    /// Parses a kubeconfig (YAML subset or JSON).
    public init(text: String, directory: String = ".", source: String = "kubeconfig") throws(KubernetesCoreError) {
        let root: ConfigurationNode
        do { root = try ConfigurationParser.parse(text) } catch {
            throw KubernetesCoreError(.invalidConfiguration, "\(source): \(error)")
        }
        guard case .mapping = root else { throw KubernetesCoreError(.invalidConfiguration, "\(source) is not a mapping") }
        func named(_ key: String, _ inner: String) throws(KubernetesCoreError) -> [String: ConfigurationNode] {
            var result: [String: ConfigurationNode] = [:]
            for entry in root[key]?.items ?? [] {
                guard let name = entry["name"]?.string else {
                    throw KubernetesCoreError(.invalidConfiguration, "\(source): an entry of '\(key)' has no name")
                }
                result[name] = entry[inner] ?? .mapping([:])
            }
            return result
        }
        clusters = try named("clusters", "cluster").mapValues { fields in
            Cluster(
                server: fields["server"]?.string ?? "", certificateAuthority: fields["certificate-authority"]?.string,
                certificateAuthorityData: fields["certificate-authority-data"]?.string,
                insecureSkipTLSVerify: fields["insecure-skip-tls-verify"]?.bool ?? false,
                tlsServerName: fields["tls-server-name"]?.string)
        }
        users = try named("users", "user").mapValues { fields in
            User(
                token: fields["token"]?.string, tokenFile: fields["tokenFile"]?.string,
                clientCertificate: fields["client-certificate"]?.string, clientCertificateData: fields["client-certificate-data"]?.string,
                clientKey: fields["client-key"]?.string, clientKeyData: fields["client-key-data"]?.string,
                usesPlugin: fields["exec"] != nil || fields["auth-provider"] != nil)
        }
        contexts = try named("contexts", "context").mapValues { fields in
            Context(cluster: fields["cluster"]?.string ?? "", user: fields["user"]?.string, namespace: fields["namespace"]?.string)
        }
        let current = root["current-context"]?.string
        currentContext = (current?.isEmpty ?? true) ? nil : current
        self.directory = directory
        self.source = source
    }

    /// Reads and parses a kubeconfig file.
    public init(contentsOf path: String) throws(KubernetesCoreError) {
        let bytes: [UInt8]
        do { bytes = try SystemFile.read(path) } catch {
            throw KubernetesCoreError(.invalidConfiguration, "cannot read the kubeconfig \(path): \(error)")
        }
        let directory = path.contains("/") ? String(path[..<path.lastIndex(of: "/")!]) : "."
        try self.init(
            text: String(decoding: bytes, as: UTF8.self), directory: directory.isEmpty ? "/" : directory, source: "kubeconfig \(path)")
    }

    /// How to reach the API server of `context` (default: the current context): its endpoint,
    /// TLS settings and credentials. Files the context names (CA, token, certificate, key)
    /// are read now, so a missing one is reported here, naming it.
    public func access(context name: String? = nil) throws(KubernetesCoreError) -> APIServerAccess {
        func invalid(_ message: String) -> KubernetesCoreError { KubernetesCoreError(.invalidConfiguration, "\(source): \(message)") }
        guard let contextName = name ?? currentContext else { throw invalid("no current-context and none was given") }
        guard let context = contexts[contextName] else { throw invalid("no context '\(contextName)'") }
        guard let cluster = clusters[context.cluster] else {
            throw invalid("context '\(contextName)' names cluster '\(context.cluster)', which is not defined")
        }
        guard !cluster.server.isEmpty else { throw invalid("cluster '\(context.cluster)' has no server") }
        let endpoint: HTTPEndpoint
        do { endpoint = try HTTPEndpoint(parsing: cluster.server, schemeRequired: true, allowsPath: false) } catch {
            throw invalid("cluster '\(context.cluster)': \(error.message)")
        }
        var user = User(usesPlugin: false)
        if let userName = context.user, !userName.isEmpty {
            guard let found = users[userName] else {
                throw invalid("context '\(contextName)' names user '\(userName)', which is not defined")
            }
            user = found
        }
        if user.usesPlugin { throw invalid("user '\(context.user ?? "")' uses an exec or auth-provider plugin, which is not supported") }
        var token: String?
        if let value = user.token, !value.isEmpty {
            token = value
        } else if let file = user.tokenFile, !file.isEmpty {
            let path = resolve(file)
            guard let bytes = try? SystemFile.read(path) else {
                throw KubernetesCoreError(.credentialsUnavailable, "token file \(path) does not exist or cannot be read")
            }
            token = String(decoding: bytes, as: UTF8.self).trimmed()
            if token?.isEmpty ?? true { throw KubernetesCoreError(.credentialsUnavailable, "token file \(path) is empty") }
        }
        let certificate = try material(data: user.clientCertificateData, file: user.clientCertificate, what: "client-certificate")
        let key = try material(data: user.clientKeyData, file: user.clientKey, what: "client-key")
        if (certificate == nil) != (key == nil) {
            throw invalid("user '\(context.user ?? "")' has a client certificate without a key, or a key without a certificate")
        }
        let tls = TLSConfiguration(
            certificateAuthority: try material(
                data: cluster.certificateAuthorityData, file: cluster.certificateAuthority, what: "certificate-authority"),
            certificate: certificate, key: key, serverName: cluster.tlsServerName, skipsVerification: cluster.insecureSkipTLSVerify,
            names: TLSConfiguration.SettingNames(
                certificateAuthority: "certificate-authority of cluster '\(context.cluster)' in \(source)",
                certificate: "client-certificate of user '\(context.user ?? "")' in \(source)",
                key: "client-key of user '\(context.user ?? "")' in \(source)"))
        return APIServerAccess(endpoint: endpoint, tls: tls, token: token, namespace: context.namespace)
    }

    private func resolve(_ path: String) -> String { path.hasPrefix("/") ? path : directory + "/" + path }

    /// A file (checked to exist now) or base64 data, as TLS material.
    private func material(data: String?, file: String?, what: String) throws(KubernetesCoreError) -> TLSConfiguration.Source? {
        if let data, !data.isEmpty {
            guard let decoded = Data(base64Encoded: data, options: .ignoreUnknownCharacters) else {
                throw KubernetesCoreError(.invalidConfiguration, "\(source): \(what)-data is not valid base64")
            }
            return .pem(Array(decoded))
        }
        if let file, !file.isEmpty {
            let path = resolve(file)
            guard (try? SystemFile.read(path)) != nil else {
                throw KubernetesCoreError(.credentialsUnavailable, "\(what) file \(path) does not exist or cannot be read")
            }
            return .file(path)
        }
        return nil
    }
}

/// One API server and how to talk to it: what a kubeconfig context amounts to.
public struct APIServerAccess: Sendable, Hashable {
    public var endpoint: HTTPEndpoint
    public var tls: TLSConfiguration
    /// The bearer token, if any.
    public var token: String?
    /// The context's namespace, if any.
    public var namespace: String?

    public init(endpoint: HTTPEndpoint, tls: TLSConfiguration = TLSConfiguration(), token: String? = nil, namespace: String? = nil) {
        self.endpoint = endpoint
        self.tls = tls
        self.token = token
        self.namespace = namespace
    }
}
