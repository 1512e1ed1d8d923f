#if canImport(Glibc)
import Glibc
#endif
import ChildProcess
import Namespaces

/// The namespaces one benchmark run creates, named `<tag><suffix>`; `deleteAll()` removes them.
final class BenchNamespaces {
    let tag: String
    private var names: [String] = []

    init(tag: String) { self.tag = tag }

    func create(_ suffix: String) throws -> NetworkNamespace {
        let namespace = try NetworkNamespace.create(name: tag + suffix)
        names.append(tag + suffix)
        return namespace
    }

    func deleteAll() {
        for name in names { try? NetworkNamespace.delete(name: name) }
        names = []
    }
}

extension CNIAddBenchmark {
    /// One plugin configuration under test, in its node namespace.
    struct System {
        var name: String
        var node: NetworkNamespace
        var executable: String
        var configuration: String
        var pluginPath: String
    }

    /// The ADD and DEL latencies of `pods` pods on every system: each system gets its pod
    /// namespaces and a warm-up ADD and DEL (paging the binary in, creating its stores; not
    /// counted); then every pod's ADDs, the first system rotating per pod (pod i starts with
    /// system i mod n), then every pod's DELs likewise, starting `deleteOffset` systems later.
    static func measure(
        _ systems: [System], pods: Int, namespaces: BenchNamespaces, deleteOffset: Int = 0
    ) throws -> [CanalCNIAddBenchmark.Row] {
        var podNamespaces: [[NetworkNamespace]] = Array(repeating: [], count: systems.count)
        for which in systems.indices {
            for index in 0..<pods { podNamespaces[which].append(try namespaces.create("\(which)p\(index)")) }
            let warm = try namespaces.create("\(which)w")
            _ = try invoke(systems[which], command: "ADD", containerID: "warm\(which)", pod: warm)
            _ = try invoke(systems[which], command: "DEL", containerID: "warm\(which)", pod: warm)
        }
        var samples: [String: [[Double]]] = [:]
        for (command, offset) in [("ADD", 0), ("DEL", deleteOffset)] {
            var times: [[Double]] = Array(repeating: [], count: systems.count)
            for index in 0..<pods {
                for step in systems.indices {
                    let which = (index + offset + step) % systems.count
                    times[which].append(
                        try invoke(systems[which], command: command, containerID: "s\(which)pod\(index)", pod: podNamespaces[which][index]))
                }
            }
            samples[command] = times
        }
        return systems.indices.map {
            CanalCNIAddBenchmark.Row(label: systems[$0].name, add: .init(samples["ADD"]![$0]), delete: .init(samples["DEL"]![$0]))
        }
    }

    /// Runs one plugin call inside the system's node namespace; returns its wall time in ms
    /// (process start to exit).
    static func invoke(_ system: System, command: String, containerID: String, pod: NetworkNamespace) throws -> Double {
        let (output, milliseconds) = try timedPluginCall(
            system.executable, command: command, containerID: containerID, pod: pod, pluginPath: system.pluginPath,
            configuration: system.configuration, in: system.node)
        guard output.status == .exited(0) else {
            throw Failure(description: "\(system.name) \(command) \(containerID) failed: \(output.standardOutputText) \(output.standardErrorText)")
        }
        return milliseconds
    }

    /// One CNI plugin call (`configuration` on its standard input, interface `eth0`, CNI_PATH
    /// `pluginPath`, plus `extraEnvironment`) spawned from a thread inside `node`: its output and
    /// its wall time in ms, process start to exit (calico-cni-bench times its calls with it too).
    public static func timedPluginCall(
        _ executable: String, command: String, containerID: String, pod: NetworkNamespace, pluginPath: String,
        configuration: String, in node: NetworkNamespace, extraEnvironment: [String: String] = [:]
    ) throws -> (output: ChildProcess.Output, milliseconds: Double) {
        let environment = [
            "CNI_COMMAND": command, "CNI_CONTAINERID": containerID, "CNI_NETNS": pod.path, "CNI_IFNAME": "eth0",
            "CNI_PATH": pluginPath, "PATH": "/usr/sbin:/usr/bin:/sbin:/bin",
        ].merging(extraEnvironment) { $1 }
        return try node.runBlocking { () throws -> (output: ChildProcess.Output, milliseconds: Double) in
            var start = timespec()
            var end = timespec()
            clock_gettime(CLOCK_MONOTONIC, &start)
            let output = try ChildProcess.run(
                executable, environment: environment, standardInput: Array(configuration.utf8), timeoutMilliseconds: 30_000)
            clock_gettime(CLOCK_MONOTONIC, &end)
            return (output, Double(end.tv_sec - start.tv_sec) * 1000 + Double(end.tv_nsec - start.tv_nsec) / 1_000_000)
        }
    }
}

extension CanalCNIAddBenchmark.Row {
    /// The Markdown table of `rows`, after a line with the pod count.
    static func table(_ rows: [Self], pods: Int) -> [String] {
        [
            "pods per configuration: \(pods)",
            "| Configuration | ADD median (ms) | ADD p95 (ms) | DEL median (ms) | DEL p95 (ms) |",
            "|---|---|---|---|---|",
        ] + rows.map { row in
            "| \(row.label) | " + [row.add.median, row.add.p95, row.delete.median, row.delete.p95].map(format).joined(separator: " | ") + " |"
        }
    }
}
