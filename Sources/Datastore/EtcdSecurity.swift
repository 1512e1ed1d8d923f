import HTTPTransport

/// How an etcd client proves who it is and checks whom it talks to: TLS files for `https://`
/// endpoints and an etcd user. Every field is optional; the empty value means plain etcd.
///
/// The fields carry the names flannel and Calico use for the same settings: agents take
/// `--etcd-cafile`, `--etcd-certfile`, `--etcd-keyfile`, `--etcd-username`, `--etcd-password`
/// (flannel's flags); plugin network configurations take `etcd_ca_cert_file`,
/// `etcd_cert_file`, `etcd_key_file` (Calico's keys) and `etcd_username`, `etcd_password`.
///
/// ```swift
/// let security = EtcdSecurity(certificateAuthorityFile: "/etc/etcd/ca.pem",
///                             certificateFile: "/etc/etcd/client.pem", keyFile: "/etc/etcd/client-key.pem")
/// let store = try StoreLocation.open("etcd:https://10.0.0.1:2379", security: security)
/// ```
public struct EtcdSecurity: Hashable, Sendable {
    /// PEM file of the CA(s) the server certificate must chain to; nil: the system's trust store.
    public var certificateAuthorityFile: String?
    /// PEM client certificate (chain) presented to etcd (`--client-cert-auth`).
    public var certificateFile: String?
    /// PEM private key of ``certificateFile``.
    public var keyFile: String?
    /// etcd user (`etcdctl user add`); with ``password``, requests carry an auth token.
    public var username: String?
    public var password: String?

    public init(
        certificateAuthorityFile: String? = nil, certificateFile: String? = nil, keyFile: String? = nil,
        username: String? = nil, password: String? = nil
    ) {
        func given(_ text: String?) -> String? { text.flatMap { $0.isEmpty ? nil : $0 } }
        self.certificateAuthorityFile = given(certificateAuthorityFile)
        self.certificateFile = given(certificateFile)
        self.keyFile = given(keyFile)
        self.username = given(username)
        self.password = password
    }

    /// No TLS files and no user.
    public static let none = EtcdSecurity()

    /// Whether requests authenticate as an etcd user.
    public var usesAuthentication: Bool { username != nil }
}

/// Decodes the keys of a plugin's network configuration: Calico's `etcd_ca_cert_file`,
/// `etcd_cert_file`, `etcd_key_file`, and `etcd_username`, `etcd_password` (Calico's CNI
/// plugin has no user keys; these follow its naming). Other keys are ignored, so a plugin
/// decodes it from the same configuration object as its own options.
extension EtcdSecurity: Decodable {
    enum CodingKeys: String, CodingKey {
        case certificateAuthorityFile = "etcd_ca_cert_file"
        case certificateFile = "etcd_cert_file"
        case keyFile = "etcd_key_file"
        case username = "etcd_username"
        case password = "etcd_password"
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        self.init(
            certificateAuthorityFile: try container.decodeIfPresent(String.self, forKey: .certificateAuthorityFile),
            certificateFile: try container.decodeIfPresent(String.self, forKey: .certificateFile),
            keyFile: try container.decodeIfPresent(String.self, forKey: .keyFile),
            username: try container.decodeIfPresent(String.self, forKey: .username),
            password: try container.decodeIfPresent(String.self, forKey: .password))
    }
}

extension EtcdSecurity {
    /// The TLS files as the shared transport's configuration, with flannel's and Calico's
    /// option names for messages.
    var tlsConfiguration: TLSConfiguration {
        TLSConfiguration(
            certificateAuthority: certificateAuthorityFile.map { .file($0) }, certificate: certificateFile.map { .file($0) },
            key: keyFile.map { .file($0) },
            names: TLSConfiguration.SettingNames(
                certificateAuthority: "--etcd-cafile, etcd_ca_cert_file", certificate: "--etcd-certfile, etcd_cert_file",
                key: "--etcd-keyfile, etcd_key_file"))
    }
}
