import ArgumentParser
import Datastore

/// flannel's etcd TLS and user flags (`--etcd-cafile`, `--etcd-certfile`, `--etcd-keyfile`,
/// `--etcd-username`, `--etcd-password`) for an `etcd:https://…` (or authenticating) `--store`,
/// declared once for every agent and tool: `@OptionGroup var etcd: EtcdOptions`.
public struct EtcdOptions: ParsableArguments {
    public init() {}

    @Option(name: .customLong("etcd-cafile"), help: "CA file (PEM) the etcd server certificate must chain to.")
    public var caFile: String?

    @Option(name: .customLong("etcd-certfile"), help: "Client certificate (PEM) presented to etcd.")
    public var certificateFile: String?

    @Option(name: .customLong("etcd-keyfile"), help: "Key (PEM) of --etcd-certfile.")
    public var keyFile: String?

    @Option(name: .customLong("etcd-username"), help: "etcd user name (etcd authentication).")
    public var username: String?

    @Option(name: .customLong("etcd-password"), help: "Password of --etcd-username.")
    public var password: String?

    /// The Datastore's settings for these flags (``EtcdSecurity/none`` when none is given).
    public var security: EtcdSecurity {
        EtcdSecurity(certificateAuthorityFile: caFile, certificateFile: certificateFile, keyFile: keyFile, username: username, password: password)
    }

    /// The same flags again, for a child agent (swift-canald starts swift-flanneld).
    public var arguments: [String] {
        [("--etcd-cafile", caFile), ("--etcd-certfile", certificateFile), ("--etcd-keyfile", keyFile),
         ("--etcd-username", username), ("--etcd-password", password)]
            .flatMap { flag, value in value.map { [flag, $0] } ?? [] }
    }
}
