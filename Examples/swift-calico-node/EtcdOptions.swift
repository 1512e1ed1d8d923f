import ArgumentParser
import Datastore

/// flannel's etcd TLS and user flags, for an `etcd:https://…` (or authenticating) `--store`.
/// The same declaration in every agent (an example cannot share code with another example).
struct EtcdOptions: ParsableArguments {
    @Option(name: .customLong("etcd-cafile"), help: "CA file (PEM) the etcd server certificate must chain to.")
    var caFile: String?

    @Option(name: .customLong("etcd-certfile"), help: "Client certificate (PEM) presented to etcd.")
    var certificateFile: String?

    @Option(name: .customLong("etcd-keyfile"), help: "Key (PEM) of --etcd-certfile.")
    var keyFile: String?

    @Option(name: .customLong("etcd-username"), help: "etcd user name (etcd authentication).")
    var username: String?

    @Option(name: .customLong("etcd-password"), help: "Password of --etcd-username.")
    var password: String?

    var security: EtcdSecurity {
        EtcdSecurity(certificateAuthorityFile: caFile, certificateFile: certificateFile, keyFile: keyFile, username: username, password: password)
    }

    /// The same flags again, for a child agent (swift-canald starts swift-flanneld).
    var arguments: [String] {
        [("--etcd-cafile", caFile), ("--etcd-certfile", certificateFile), ("--etcd-keyfile", keyFile),
         ("--etcd-username", username), ("--etcd-password", password)]
            .flatMap { flag, value in value.map { [flag, $0] } ?? [] }
    }
}
