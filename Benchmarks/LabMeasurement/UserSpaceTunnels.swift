import ChildProcess
import Foundation
import Lab
import Namespaces

/// One end of a tunnel built by hand between two nodes: the node's namespace and underlay
/// address, its own address inside the tunnel (a /24 shared with the other end), and the pod
/// subnets the other end may send to it through the tunnel.
public struct TunnelEndpoint: Sendable {
    public var namespace: NetworkNamespace
    public var underlayAddress: String
    public var tunnelAddress: String
    public var subnets: [String]

    public init(namespace: NetworkNamespace, underlayAddress: String, tunnelAddress: String, subnets: [String] = []) {
        self.namespace = namespace
        self.underlayAddress = underlayAddress
        self.tunnelAddress = tunnelAddress
        self.subnets = subnets
    }
}

/// A user-space encrypted tunnel between two nodes, the nearest peers of the weave sleeve:
/// wireguard-go (Debian's, via TUN) or tinc 1.0 (router mode, its default cipher and digest).
/// Every file it needs (keys, tinc's configuration) is in the run's own `directory`; its
/// devices get the caller's unique names (wireguard-go's control sockets,
/// `/var/run/wireguard/NAME.sock`, are shared by every namespace). ``remove()`` stops the
/// daemons, removes the sockets and devices.
public struct UserSpaceTunnel: Sendable {
    public enum Kind: String, Sendable { case wireguardGo = "wireguard-go", tinc }

    public let kind: Kind
    /// The tunnel device on each end (same order as the endpoints).
    public let devices: [String]
    /// The daemons, one per end.
    public let processes: [RunningProcess]
    let endpoints: [TunnelEndpoint]

    /// The MTU of wireguard-go's device (underlay 1500 − 80, as `wg-quick`).
    public static let wireguardMTU = 1420
    static let wireguardPort = "51820"
    static let tincPort = "655"
    static let wireguardSocketDirectory = "/var/run/wireguard"

    /// Two device names no other run uses: `<prefix><random>0` and `…1` (at most 15 bytes).
    public static func uniqueDeviceNames(prefix: String) -> [String] {
        let tag = String(UInt32.random(in: 0...UInt32.max) % 1_679_616, radix: 36)  // up to 4 characters
        return [0, 1].map { "\(prefix.prefix(10))\(tag)\($0)" }
    }

    /// wireguard-go on both ends, each the other's only peer (allowed IPs: its tunnel address
    /// and subnets), UDP 51820, device MTU ``wireguardMTU``.
    public static func wireguardGo(between a: TunnelEndpoint, _ b: TunnelEndpoint, directory: String, devices: [String]) async throws -> UserSpaceTunnel {
        let endpoints = [a, b]
        var processes: [RunningProcess] = []
        do {
            var environment = ChildProcess.currentEnvironment()
            environment["LOG_LEVEL"] = "error"
            for (end, device) in zip(endpoints, devices) {
                try? FileManager.default.removeItem(atPath: socketPath(device))
                processes.append(try end.namespace.launchProcess(
                    "/usr/bin/wireguard-go", arguments: ["-f", device], environment: environment,
                    standardOutput: .file(directory + "/\(device).log"), standardError: .file(directory + "/\(device).log")))
            }
            var publicKeys: [String] = []
            for device in devices {
                let key = try tool("/usr/bin/wg", ["genkey"])
                try write(key, to: directory + "/\(device).key", mode: 0o600)
                publicKeys.append(try tool("/usr/bin/wg", ["pubkey"], input: key))
            }
            for (index, (end, device)) in zip(endpoints, devices).enumerated() {
                try await waitFor("wireguard-go \(device) control socket", directory + "/\(device).log") {
                    FileManager.default.fileExists(atPath: socketPath(device))
                }
                let other = endpoints[1 - index]
                let allowed = ([other.tunnelAddress + "/32"] + other.subnets).joined(separator: ",")
                _ = try tool("/usr/bin/wg", [
                    "set", device, "private-key", directory + "/\(device).key", "listen-port", wireguardPort,
                    "peer", publicKeys[1 - index], "endpoint", "\(other.underlayAddress):\(wireguardPort)", "allowed-ips", allowed,
                ])
                try ip(end.namespace, "addr", "add", end.tunnelAddress + "/24", "dev", device)
                try ip(end.namespace, "link", "set", device, "mtu", String(wireguardMTU), "up")
            }
        } catch {
            UserSpaceTunnel(kind: .wireguardGo, devices: devices, processes: processes, endpoints: endpoints).remove()
            throw error
        }
        return UserSpaceTunnel(kind: .wireguardGo, devices: devices, processes: processes, endpoints: endpoints)
    }

    /// tinc 1.0 on both ends (`node0` connects to `node1`), router mode, TCP/UDP 655, RSA keys
    /// made for this run, each end's `Subnet`s its tunnel address and subnets; configuration
    /// in `directory/tinc/nodeI`.
    public static func tinc(between a: TunnelEndpoint, _ b: TunnelEndpoint, directory: String, devices: [String]) async throws -> UserSpaceTunnel {
        let endpoints = [a, b]
        var processes: [RunningProcess] = []
        do {
            let configurations = [0, 1].map { directory + "/tinc/node\($0)" }
            for (index, (end, device)) in zip(endpoints, devices).enumerated() {
                let configuration = configurations[index]
                try FileManager.default.createDirectory(atPath: configuration + "/hosts", withIntermediateDirectories: true)
                var settings = ["Name = node\(index)", "Mode = router", "Interface = \(device)", "Port = \(tincPort)", "AddressFamily = ipv4"]
                if index == 0 { settings.append("ConnectTo = node1") }
                try write(settings.joined(separator: "\n") + "\n", to: configuration + "/tinc.conf", mode: 0o644)
                let host = ["Address = \(end.underlayAddress) \(tincPort)", "Subnet = \(end.tunnelAddress)/32"] + end.subnets.map { "Subnet = \($0)" }
                try write(host.joined(separator: "\n") + "\n", to: configuration + "/hosts/node\(index)", mode: 0o644)
                _ = try tool("/usr/sbin/tincd", ["-c", configuration, "-K2048"])
            }
            for index in [0, 1] {
                let own = configurations[index] + "/hosts/node\(index)"
                try FileManager.default.copyItem(atPath: own, toPath: configurations[1 - index] + "/hosts/node\(index)")
            }
            for (index, end) in endpoints.enumerated() {
                let configuration = configurations[index]
                processes.append(try end.namespace.launchProcess(
                    "/usr/sbin/tincd",
                    arguments: ["-c", configuration, "-D", "-d0", "--pidfile=\(configuration)/pid", "--logfile=\(configuration)/tinc.log"],
                    standardError: .file(configuration + "/stderr.log")))
            }
            for (index, (end, device)) in zip(endpoints, devices).enumerated() {
                try await waitFor("tinc device \(device)", configurations[index] + "/tinc.log") {
                    (try? ip(end.namespace, "link", "show", device)) != nil
                }
                try ip(end.namespace, "addr", "add", end.tunnelAddress + "/24", "dev", device)
                try ip(end.namespace, "link", "set", device, "up")
            }
        } catch {
            UserSpaceTunnel(kind: .tinc, devices: devices, processes: processes, endpoints: endpoints).remove()
            throw error
        }
        return UserSpaceTunnel(kind: .tinc, devices: devices, processes: processes, endpoints: endpoints)
    }

    /// Stops the daemons (SIGTERM, then SIGKILL), removes wireguard-go's sockets and any
    /// device left behind. Never throws: it runs on failure paths too.
    public func remove() {
        for process in processes { _ = process.terminate(graceMilliseconds: 2_000) }
        for (end, device) in zip(endpoints, devices) {
            if kind == .wireguardGo { try? FileManager.default.removeItem(atPath: Self.socketPath(device)) }
            _ = try? end.namespace.runProcess("/usr/sbin/ip", arguments: ["link", "del", device], timeoutMilliseconds: 5_000)
        }
    }

    static func socketPath(_ device: String) -> String { wireguardSocketDirectory + "/\(device).sock" }

    /// Polls `condition` every 100 ms for up to 20 s (a loaded machine starts daemons slowly).
    static func waitFor(_ what: String, _ log: String, _ condition: () -> Bool) async throws {
        let deadline = ContinuousClock.now + .seconds(20)
        while !condition() {
            guard ContinuousClock.now < deadline else {
                let tail = ((try? String(contentsOfFile: log, encoding: .utf8)) ?? "").suffix(300)
                throw LabError(.process, "\(what) did not appear within 20 s: \(tail)")
            }
            try await Task.sleep(for: .milliseconds(100))
        }
    }

    /// A tool run in the caller's namespace (key generation, `wg set` through the shared
    /// socket); its trimmed standard output.
    static func tool(_ executable: String, _ arguments: [String], input: String = "") throws -> String {
        let output = try ChildProcess.run(executable, arguments: arguments, standardInput: Array(input.utf8), timeoutMilliseconds: 60_000)
        guard output.status.isSuccess else {
            throw LabError(.process, "\(executable) \(arguments.joined(separator: " ")): \(output.standardErrorText)")
        }
        return output.standardOutputText.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    static func write(_ text: String, to path: String, mode: Int) throws {
        guard FileManager.default.createFile(atPath: path, contents: Data(text.utf8), attributes: [.posixPermissions: mode]) else {
            throw LabError(.process, "cannot write \(path)")
        }
    }

    @discardableResult
    static func ip(_ namespace: NetworkNamespace, _ arguments: String...) throws -> String {
        try HandBuiltVXLAN.ip(namespace, arguments)
    }
}
