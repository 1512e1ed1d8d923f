// calico-cni-bench: CNI ADD/DEL time of swift-calico against the reference ptp + host-local.
//
// Usage (root): calico-cni-bench [--pods N] [--plugin PATH] [--plugin-dir DIR] [--reference-dir DIR]
//
// Per configuration one fresh node namespace and N pod namespaces, plus one warm-up pod (not
// counted). ADDs (one pod each) alternate between the configurations, the first one rotating,
// then the DELs likewise, so load changes during a run hit every configuration alike. The time
// measured is the plugin process only (spawn to exit, from a thread already inside the node
// namespace; a delegated IPAM exec is included). Configurations:
//   swift-calico + host-local (ipam type host-local: served in process, same files),
//   swift-calico + calico-ipam (in process, file store),
//   ptp + host-local (the reference plugins, /usr/lib/cni),
//   with --kube-api: swift-calico + calico-ipam reading each pod's labels and named ports from
//   an API server at ADD (Calico's kubernetes.kubeconfig): cnilab-apiserver (next to this
//   executable) serving HTTPS with a bearer token on 127.0.0.1 inside that configuration's node
//   namespace. The calico-ipam configuration then gets the same K8S_POD_* arguments, so the two
//   differ only in the API read.
// Build swift-calico fully static first, as plugins are installed (Makefile install-plugins):
//   swift build -c release --static-swift-stdlib -Xswiftc -static-executable --product swift-calico
//   swift build -c release --product calico-cni-bench
//   calico-cni-bench --pods 50 --plugin <static swift-calico>
// --plugin defaults to swift-calico next to this executable; --plugin-dir (default: the
// plugin's directory) goes first on CNI_PATH.
#if canImport(Glibc)
import Glibc
#endif
import ArgumentParser
import CNIAddBenchmark
import ChildProcess
import Namespaces

struct BenchError: Error, CustomStringConvertible { var description: String }

func printError(_ text: String) {
    let bytes = Array(text.utf8)
    _ = write(2, bytes, bytes.count)
}

func directoryOf(_ path: String) -> String { String(path[..<(path.lastIndex(of: "/") ?? path.endIndex)]) }

func ownDirectory() -> String {
    var buffer = [CChar](repeating: 0, count: 4096)
    let count = readlink("/proc/self/exe", &buffer, buffer.count - 1)
    guard count > 0 else { return "." }
    return directoryOf(String(decoding: buffer[0..<count].map { UInt8(bitPattern: $0) }, as: UTF8.self))
}

struct Options: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "calico-cni-bench")

    @Option(help: "Pods per run.") var pods = 50
    @Option(help: "The swift-calico plugin (default: next to this executable).") var plugin: String?
    @Option(name: .customLong("plugin-dir"), help: "Directory searched for plugins first.") var pluginDirectory: String?
    @Option(name: .customLong("reference-dir"), help: "The reference CNI plugins.") var referenceDirectory = "/usr/lib/cni"
    @Flag(name: .customLong("kube-api"), help: "Add swift-calico reading pods from an API server (HTTPS, token) at ADD.")
    var kubeAPI = false

    func validate() throws {
        guard pods >= 1 else { throw ValidationError("--pods must be at least 1") }
    }
}

let options = Options.parseOrExit()
let pods = options.pods
let plugin = options.plugin ?? ownDirectory() + "/swift-calico"
let pluginDirectory = options.pluginDirectory
let referenceDirectory = options.referenceDirectory
let searchPath = (pluginDirectory ?? directoryOf(plugin)) + ":" + referenceDirectory

let tag = "swcni-bc\(getpid())"
let directory = "/tmp/" + tag
guard mkdir(directory, 0o700) == 0 else {
    printError("calico-cni-bench: cannot create \(directory)\n")
    exit(1)
}
var created: [String] = []
@MainActor func namespace(_ suffix: String) throws -> NetworkNamespace {
    let name = tag + "-" + suffix
    let namespace = try NetworkNamespace.create(name: name)
    created.append(name)
    return namespace
}
@MainActor func cleanup() {
    for name in created { try? NetworkNamespace.delete(name: name) }
    _ = try? ChildProcess.run("/bin/rm", arguments: ["-rf", directory])
}

struct Configuration {
    var label: String
    var executable: String
    var json: String
    var node: NetworkNamespace
    /// Whether ADD/DEL carry K8S_POD_NAMESPACE/K8S_POD_NAME (the container ID as the pod name).
    var kubernetesArguments = false
    var pods: [NetworkNamespace] = []
    var adds: [Double] = []
    var deletes: [Double] = []
}

/// One plugin call inside the configuration's node namespace; its wall time in ms.
@MainActor func invoke(_ configuration: Configuration, command: String, containerID: String, pod: NetworkNamespace) throws -> Double {
    let extraEnvironment = configuration.kubernetesArguments ? ["CNI_ARGS": "K8S_POD_NAMESPACE=bench;K8S_POD_NAME=\(containerID)"] : [:]
    let (output, milliseconds) = try CNIAddBenchmark.timedPluginCall(
        configuration.executable, command: command, containerID: containerID, pod: pod, pluginPath: searchPath,
        configuration: configuration.json, in: configuration.node, extraEnvironment: extraEnvironment)
    guard output.status == .exited(0) else {
        throw BenchError(description: "\(configuration.label) \(command) \(containerID) failed: "
            + String(decoding: output.standardOutput + output.standardError, as: UTF8.self))
    }
    return milliseconds
}

func percentile(_ values: [Double], _ fraction: Double) -> Double {
    let sorted = values.sorted()
    return sorted[min(sorted.count - 1, Int((Double(sorted.count - 1) * fraction).rounded()))]
}

func format(_ value: Double) -> String {
    let tenths = Int((value * 10).rounded())
    return "\(tenths / 10).\(tenths % 10)"
}

func format2(_ value: Double) -> String {
    let hundredths = Int((value * 100).rounded())
    return "\(hundredths / 100)." + (hundredths % 100 < 10 ? "0" : "") + "\(hundredths % 100)"
}

do {
    var configurations = [
        Configuration(
            label: "swift-calico + host-local", executable: plugin,
            json: #"{"cniVersion":"1.0.0","name":"bench-a","type":"swift-calico","ipam":{"type":"host-local","subnet":"10.65.0.0/24","dataDir":"\#(directory)/hl-a"}}"#,
            node: try namespace("a")),
        Configuration(
            label: "swift-calico + calico-ipam (file store)", executable: plugin,
            json: #"{"cniVersion":"1.0.0","name":"bench-b","type":"swift-calico","datastore":"file:\#(directory)/store","nodeName":"node-1","ipam":{"type":"calico-ipam","pools":[{"cidr":"10.244.0.0/16","blockSize":26}]}}"#,
            node: try namespace("b")),
        Configuration(
            label: "reference ptp + host-local", executable: referenceDirectory + "/ptp",
            json: #"{"cniVersion":"1.0.0","name":"bench-c","type":"ptp","ipMasq":false,"ipam":{"type":"host-local","subnet":"10.66.0.0/24","dataDir":"\#(directory)/hl-c"}}"#,
            node: try namespace("c")),
    ]
    var apiServer: RunningProcess?
    if options.kubeAPI {
        configurations[1].kubernetesArguments = true
        let node = try namespace("d")
        let (server, kubeconfig) = try startAPIServer(in: node, podNames: ["warm"] + (0..<pods).map { "bench-\($0)" })
        apiServer = server
        configurations.append(Configuration(
            label: "swift-calico + calico-ipam + pod from the API (HTTPS, token)", executable: plugin,
            json: #"{"cniVersion":"1.0.0","name":"bench-d","type":"swift-calico","datastore":"file:\#(directory)/store-d","nodeName":"node-1","kubernetes":{"kubeconfig":"\#(kubeconfig)"},"ipam":{"type":"calico-ipam","pools":[{"cidr":"10.245.0.0/16","blockSize":26}]}}"#,
            node: node, kubernetesArguments: true))
    }
    defer { _ = apiServer?.terminate(graceMilliseconds: 2000) }
    for which in configurations.indices {
        for index in 0..<pods { configurations[which].pods.append(try namespace("\(which)p\(index)")) }
        // Warm-up (pages the binaries in, creates the stores), not counted.
        let warm = try namespace("\(which)w")
        _ = try invoke(configurations[which], command: "ADD", containerID: "warm", pod: warm)
        _ = try invoke(configurations[which], command: "DEL", containerID: "warm", pod: warm)
    }
    let count = configurations.count
    for index in 0..<pods {
        for step in 0..<count {
            let which = (index + step) % count
            configurations[which].adds.append(
                try invoke(configurations[which], command: "ADD", containerID: "bench-\(index)", pod: configurations[which].pods[index]))
        }
    }
    for index in 0..<pods {
        for step in 0..<count {
            let which = (index + step) % count
            configurations[which].deletes.append(
                try invoke(configurations[which], command: "DEL", containerID: "bench-\(index)", pod: configurations[which].pods[index]))
        }
    }
    print("pods per configuration: \(pods); plugin: \(plugin)")
    print("| Configuration | ADD median (ms) | ADD p95 (ms) | DEL median (ms) | DEL p95 (ms) |")
    print("|---|---|---|---|---|")
    for configuration in configurations {
        let figures = [
            percentile(configuration.adds, 0.5), percentile(configuration.adds, 0.95),
            percentile(configuration.deletes, 0.5), percentile(configuration.deletes, 0.95),
        ]
        print("| \(configuration.label) | " + figures.map(format).joined(separator: " | ") + " |")
    }
    let reference = percentile(configurations[2].adds, 0.5)
    for configuration in configurations where configuration.executable == plugin {
        print("\(configuration.label): ADD median / reference ADD median = "
            + format2(percentile(configuration.adds, 0.5) / reference) + " (target <= 0.5)")
    }
} catch {
    printError("calico-cni-bench: \(error)\n")
    cleanup()
    exit(1)
}
cleanup()

/// cnilab-apiserver inside `node` (HTTPS on 127.0.0.1:6443, a bearer token, certificates made
/// with openssl), the pods `bench/<name>` created in it with curl; returns the server and a
/// kubeconfig for it.
@MainActor func startAPIServer(in node: NetworkNamespace, podNames: [String]) throws -> (RunningProcess, String) {
    let pki = directory + "/pki"
    _ = mkdir(pki, 0o700)
    func run(_ executable: String, _ arguments: [String], input: String = "", inNode: Bool = false) throws -> ChildProcess.Output {
        let output = inNode
            ? try node.runProcess(executable, arguments: arguments, standardInput: Array(input.utf8), timeoutMilliseconds: 10_000)
            : try ChildProcess.run(executable, arguments: arguments, standardInput: Array(input.utf8), timeoutMilliseconds: 30_000)
        guard output.status == .exited(0) else {
            throw BenchError(description: "\(executable) \(arguments.joined(separator: " ")) failed: "
                + String(decoding: output.standardOutput + output.standardError, as: UTF8.self))
        }
        return output
    }
    let curve = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-days", "1"]
    _ = try run("/usr/bin/openssl", ["req", "-x509"] + curve + ["-keyout", pki + "/ca.key", "-out", pki + "/ca.crt", "-subj", "/CN=bench-ca"])
    _ = try run("/usr/bin/openssl", ["req"] + curve.dropLast(2) + ["-keyout", pki + "/server.key", "-out", pki + "/server.csr", "-subj", "/CN=127.0.0.1"])
    _ = try run("/bin/sh", ["-c", "printf 'subjectAltName=IP:127.0.0.1\\n' > \(pki)/server.ext"])
    _ = try run("/usr/bin/openssl", [
        "x509", "-req", "-in", pki + "/server.csr", "-CA", pki + "/ca.crt", "-CAkey", pki + "/ca.key", "-CAcreateserial",
        "-out", pki + "/server.crt", "-days", "1", "-extfile", pki + "/server.ext",
    ])
    _ = try run("/usr/sbin/ip", ["link", "set", "lo", "up"], inNode: true)
    let token = "bench-token"
    let server = try node.launchProcess(
        ownDirectory() + "/cnilab-apiserver",
        arguments: [
            "--store", "file:" + directory + "/kube-store", "--host", "127.0.0.1", "--port", "6443",
            "--tls-cert-file", pki + "/server.crt", "--tls-private-key-file", pki + "/server.key", "--token", token,
        ],
        standardError: .file(directory + "/apiserver.log"))
    let curl = ["-sS", "--fail", "--cacert", pki + "/ca.crt", "-H", "Authorization: Bearer \(token)", "-H", "Content-Type: application/json"]
    let base = "https://127.0.0.1:6443"
    var ready = false
    for _ in 0..<100 where !ready {
        ready = (try? run("/usr/bin/curl", curl + [base + "/api/v1/namespaces"], inNode: true)) != nil
        if !ready { usleep(100_000) }
    }
    guard ready else {
        _ = server.terminate(graceMilliseconds: 1000)
        throw BenchError(description: "cnilab-apiserver did not answer within 10 s (see \(directory)/apiserver.log)")
    }
    _ = try run("/usr/bin/curl", curl + ["-X", "POST", "--data", #"{"apiVersion":"v1","kind":"Namespace","metadata":{"name":"bench"}}"#, base + "/api/v1/namespaces"], inNode: true)
    for name in podNames {
        let pod = #"{"apiVersion":"v1","kind":"Pod","metadata":{"name":"\#(name)","namespace":"bench","labels":{"app":"bench","pod":"\#(name)"}},"spec":{"containers":[{"name":"c","image":"busybox","ports":[{"name":"http","containerPort":8080}]}]}}"#
        _ = try run("/usr/bin/curl", curl + ["-X", "POST", "--data", pod, base + "/api/v1/namespaces/bench/pods"], inNode: true)
    }
    let kubeconfig = directory + "/kubeconfig"
    let text = """
        apiVersion: v1
        kind: Config
        clusters:
        - name: bench
          cluster:
            server: \(base)
            certificate-authority: \(pki)/ca.crt
        users:
        - name: calico-cni
          user:
            token: \(token)
        contexts:
        - name: bench
          context: {cluster: bench, user: calico-cni}
        current-context: bench

        """
    _ = try run("/bin/sh", ["-c", "cat > \(kubeconfig)"], input: text)
    return (server, kubeconfig)
}
