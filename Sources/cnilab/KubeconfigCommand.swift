import ArgumentParser
import Lab

/// `cnilab kubeconfig`: the kubeconfig of a lab made with `cnilab up --kube`.
struct KubeconfigCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "kubeconfig",
        abstract: "Print the kubeconfig of the lab's API server (a lab made with `cnilab up --kube`).",
        discussion: """
            The server is reachable inside the lab's fabric namespace (and from its nodes): \
            cnilab kubeconfig > F; ip netns exec cnilab-<lab>-fabric kubectl --kubeconfig F get pods -A
            """)
    @OptionGroup var options: LabOptions

    func run() async throws {
        print(try await options.open().kubeconfig(), terminator: "")
    }
}
