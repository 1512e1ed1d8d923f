#if canImport(Glibc)
import Glibc
#endif
import ArgumentParser
import Datastore
import KubernetesTestServer

/// cnilab-apiserver: the project's fixture API server (KubernetesTestServer) as a process, what
/// `cnilab up --kube` runs inside a lab's fabric namespace, backed by the lab's store. A test
/// server: plain HTTP, no authentication, no admission; kubectl and swift-kube-sync talk to it.
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

    @Option(help: "Milliseconds between bookmarks on watches that allow them.")
    var bookmarkIntervalMilliseconds = 100

    @Option(help: "Where objects live in the store.")
    var keyPrefix = "/registry/"

    func run() async throws {
        let datastore = try StoreLocation.open(store)
        let server = try await APIServerFixture.start(
            store: datastore, host: host, port: port, keyPrefix: keyPrefix, bookmarkInterval: .milliseconds(bookmarkIntervalMilliseconds))
        print("cnilab-apiserver: serving \(server.url) from \(store)")
        // SIGTERM/SIGINT end the process (the default action); the store keeps every object.
        while true { try await Task.sleep(for: .seconds(3600)) }
    }
}
