#if canImport(Glibc)
import Glibc
#endif
import ArgumentParser
import Datastore
import KubernetesTestServer

/// cnilab-apiserver: the project's fixture API server (KubernetesTestServer) as a process, what
/// `cnilab up --kube` runs inside a lab's fabric namespace, backed by the lab's store. A test
/// server: plain HTTP, no authentication, no admission; kubectl and swift-kube-sync talk to it.
/// With `--tls-cert-file` and `--tls-private-key-file` it serves HTTPS (and takes client
/// certificates signed by `--client-ca-file`); with `--token` it requires that bearer token (or
/// such a certificate), as `cnilab bench cni-add --plugin calico --kube-api` runs it.
@main
struct CNILabAPIServer: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cnilab-apiserver",
        abstract: "The swift-cni fixture Kubernetes API server, serving a lab's store (for cnilab up --kube).")

    @Option(help: "The store: file:DIR or etcd:URL[,URL...].")
    var store: String

    @Option(help: "Address to listen on.")
    var host = "0.0.0.0"

    @Option(help: "Port to listen on.")
    var port = 6443

    @Option(help: "Test-only: milliseconds between bookmarks on watches that allow them (0: as kube-apiserver, one 2 s before the watch's timeout).")
    var bookmarkIntervalMilliseconds = 0

    @Option(help: "Where objects live in the store.")
    var keyPrefix = "/registry/"

    @Option(help: "PEM server certificate: serve HTTPS (kube-apiserver's flag).")
    var tlsCertFile: String?

    @Option(help: "PEM key of --tls-cert-file.")
    var tlsPrivateKeyFile: String?

    @Option(help: "PEM CA whose client certificates authenticate (with --tls-cert-file).")
    var clientCAFile: String?

    @Option(help: "A bearer token requests must carry (or a client certificate); repeat for several.")
    var token: [String] = []

    func run() async throws {
        let datastore = try StoreLocation.open(store)
        var tls: FixtureTLS?
        switch (tlsCertFile, tlsPrivateKeyFile) {
        case (let certificate?, let key?):
            tls = FixtureTLS(certificatePath: certificate, privateKeyPath: key, clientCertificateAuthorityPath: clientCAFile)
        case (nil, nil): break
        default: throw ValidationError("--tls-cert-file and --tls-private-key-file go together")
        }
        let server = try await APIServerFixture.start(
            store: datastore, host: host, port: port, tls: tls, tokens: token.isEmpty ? nil : Set(token), keyPrefix: keyPrefix,
            bookmarkInterval: bookmarkIntervalMilliseconds > 0 ? .milliseconds(bookmarkIntervalMilliseconds) : nil)
        print("cnilab-apiserver: serving \(server.url) from \(store)")
        // SIGTERM/SIGINT end the process (the default action); the store keeps every object.
        while true { try await Task.sleep(for: .seconds(3600)) }
    }
}
