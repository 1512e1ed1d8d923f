#if canImport(Glibc)
import Glibc
#endif
import ChildProcess
import Namespaces
import NetPrimitives

/// A bird2 process in a test namespace, started in the foreground and stopped by its PID.
final class BirdDaemon {
    let namespace: NetworkNamespace
    let configurationPath: String
    let controlSocket: String
    private(set) var process: RunningProcess?

    init(namespace: NetworkNamespace, directory: String, name: String, configuration: String) throws {
        self.namespace = namespace
        self.configurationPath = "\(directory)/\(name).conf"
        self.controlSocket = "\(directory)/\(name).ctl"
        try write(configuration, to: configurationPath)
        try start()
    }

    func start() throws {
        process = try namespace.launchProcess(
            "/usr/sbin/bird", arguments: ["-f", "-c", configurationPath, "-s", controlSocket],
            standardError: .file(configurationPath + ".log"))
    }

    /// SIGKILL: the TCP connection closes without a NOTIFICATION (a crash or restart).
    func kill() {
        _ = process?.signal(SIGKILL)
        _ = try? process?.wait()
        process = nil
    }

    func stop() {
        _ = process?.terminate(graceMilliseconds: 3000)
        process = nil
    }

    deinit { stop() }

    /// Runs a birdc command and returns its output.
    func command(_ arguments: [String]) -> String {
        let output = try? ChildProcess.run("/usr/sbin/birdc", arguments: ["-s", controlSocket] + arguments, timeoutMilliseconds: 5000)
        return output?.standardOutputText ?? ""
    }

    func isEstablished(_ protocolName: String = "speaker") -> Bool {
        command(["show", "protocols", protocolName]).contains("Established")
    }

    /// Routes bird learned over BGP from the speaker ("show route protocol speaker all").
    func learnedRoutes(_ protocolName: String = "speaker") -> String {
        command(["show", "route", "protocol", protocolName, "all"])
    }

    /// One bgp protocol "speaker" towards our speaker, static routes exported to it.
    static func configuration(
        routerID: String, localAddress: String, localAS: UInt32, neighbor: String, neighborAS: UInt32,
        routes4: [String], routes6: [String] = [], ipv6NextHop: String? = nil, extra: String = "", logPath: String
    ) -> String {
        var text = """
        log "\(logPath)" all;
        router id \(routerID);
        protocol device { }
        protocol static s4 { ipv4; \(routes4.map { "route \($0) blackhole;" }.joined(separator: " ")) }

        """
        if !routes6.isEmpty {
            text += "protocol static s6 { ipv6; \(routes6.map { "route \($0) blackhole;" }.joined(separator: " ")) }\n"
        }
        text += """
        protocol bgp speaker {
          local \(localAddress) as \(localAS);
          neighbor \(neighbor) as \(neighborAS);
          hold time 3; keepalive time 1; connect retry time 1; connect delay time 1; error wait time 1, 2;
          \(extra)
          ipv4 { import all; export where source = RTS_STATIC; next hop self; };

        """
        if let ipv6NextHop {
            text += "  ipv6 { import all; export where source = RTS_STATIC; next hop address \(ipv6NextHop); };\n"
        }
        return text + "}\n"
    }
}

/// A gobgpd process in a test namespace with its gRPC API on 127.0.0.1 inside it.
final class GoBGPDaemon {
    let namespace: NetworkNamespace
    let port = 50051
    private(set) var process: RunningProcess?

    init(namespace: NetworkNamespace, directory: String, name: String, configuration: String) throws {
        self.namespace = namespace
        let path = "\(directory)/\(name).toml"
        try write(configuration, to: path)
        process = try namespace.launchProcess(
            "/usr/bin/gobgpd", arguments: ["-f", path, "-t", "toml", "--api-hosts", "127.0.0.1:\(port)", "--log-level", "info"],
            standardOutput: .file(path + ".log"), standardError: .file(path + ".log"))
    }

    func stop() {
        _ = process?.terminate(graceMilliseconds: 3000)
        process = nil
    }

    deinit { stop() }

    /// Runs the gobgp CLI inside the namespace.
    func command(_ arguments: [String]) -> String {
        let output = try? namespace.runProcess("/usr/bin/gobgp", arguments: ["-p", "\(port)"] + arguments, timeoutMilliseconds: 10000)
        return output?.standardOutputText ?? ""
    }

    func isEstablished(_ neighbor: IPAddress) -> Bool {
        command(["neighbor", "\(neighbor)", "-j"]).contains("\"session_state\":6")
    }

    func ribText(_ family: String = "ipv4") -> String { command(["global", "rib", "-a", family, "-j"]) }

    static func configuration(routerID: String, localAS: UInt32, neighbor: String, neighborAS: UInt32) -> String {
        """
        [global.config]
          as = \(localAS)
          router-id = "\(routerID)"
          port = 179
        [[neighbors]]
          [neighbors.config]
            neighbor-address = "\(neighbor)"
            peer-as = \(neighborAS)
          [neighbors.timers.config]
            hold-time = 3
            keepalive-interval = 1
            connect-retry = 1
          [[neighbors.afi-safis]]
            [neighbors.afi-safis.config]
              afi-safi-name = "ipv4-unicast"
        """
    }
}

func write(_ text: String, to path: String) throws {
    guard let file = fopen(path, "w") else { throw InteropError("cannot write \(path)") }
    defer { fclose(file) }
    fputs(text, file)
}
