import ChildProcess
import Lab

/// The benchmarks that exist only as executables of their own (Benchmarks/…), run through
/// `cnilab bench exec NAME [ARGS…]` so that `cnilab bench` fronts every benchmark.
public struct ExternalBenchmark: Sendable, Hashable {
    /// The name `cnilab bench exec` takes.
    public var name: String
    /// The executable (a product of the package, found next to the program).
    public var executable: String
    public var summary: String

    public static let all: [ExternalBenchmark] = [
        .init(name: "overlay", executable: "overlay-bench", summary: "flannel's overlay reconciler and host-gw for N remote nodes [N]"),
        .init(
            name: "calico-bgp", executable: "calico-bgp-bench",
            summary: "swift-calico-node installing bird2's routes [--prefixes N] [--runs R] [--agent PATH] [--poll-ms MS]"),
        .init(name: "calico-cni", executable: "calico-cni-bench", summary: "swift-calico against ptp + host-local [--pods N] [--plugin PATH]"),
        .init(
            name: "policy-agent", executable: "policy-agent-bench",
            summary: "the PolicyAgent from store change to kernel rules [--pods N] [--policies N] [--rounds N]"),
        .init(
            name: "policy-layers", executable: "policy-benchmark",
            summary: "the pure policy layers: parse, compile, recompile, decide [endpoints] [policies]"),
        .init(name: "nftables", executable: "NftablesBenchmark", summary: "the Nftables library against `nft -f` [rules] [elements]"),
    ]

    /// Runs the benchmark with `arguments`, its output on ours; returns its exit status.
    public func run(arguments: [String]) throws -> Int32 {
        let path = try LabBench.executable(executable, advice: "build it: swift build -c release --product \(executable)")
        let process = try ChildProcess.launch(path, arguments: arguments, standardOutput: .inherit, standardError: .inherit)
        guard case .exited(let code) = try process.wait() else { return 128 }
        return code
    }

    /// The benchmark named `name`; `invalidArgument` listing the names otherwise.
    public static func named(_ name: String) throws -> ExternalBenchmark {
        guard let found = all.first(where: { $0.name == name }) else {
            throw LabError(.invalidArgument, "bench exec: no benchmark '\(name)' (\(all.map(\.name).joined(separator: ", ")))")
        }
        return found
    }
}
