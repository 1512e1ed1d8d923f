import Foundation
import Lab
import LabProfiles
import Namespaces

/// The data paths of `cnilab bench datapath` built by hand between the reference lab's two
/// nodes, all present at once; ``activate(_:podMTU:lab:)`` swaps each node's route to the
/// other node's pod subnet onto one of them and sets both pods' MTU:
/// - `flannel-baseline`: ``HandBuiltVXLAN`` (vxlan backend) or the lab's static routes (host-gw);
/// - `vxlan`: a kernel VXLAN on UDP 6784 (VNI 43, point to point, 172.30.3.0/24 inside);
/// - `wireguard-go` (172.30.1.0/24) and `tinc` (172.30.2.0/24): ``UserSpaceTunnel``.
struct HandBuiltPaths: Sendable {
    /// Per mode, per node index: the `ip route replace` arguments of the route to the other node's pods.
    var routes: [DatapathMode: [[String]]] = [:]
    var tunnels: [DatapathMode: UserSpaceTunnel] = [:]

    static let vxlanDevice = "vxw6784"

    mutating func build(
        modes: [DatapathMode], backend: FlannelBackend, lab: DatapathLabSetup, directory: String, progress: (@Sendable (String) -> Void)?
    ) async throws {
        let nodes = lab.nodes
        guard nodes.count == 2 else { throw LabError(.state, "the reference lab needs 2 nodes") }
        let namespaces = try nodes.map { try NetworkNamespace.open(name: $0.networkNamespace) }
        let underlay = nodes.map { String($0.underlayAddress.split(separator: "/").first ?? "") }
        let subnets = try nodes.map { node in
            guard let subnet = node.subnet else { throw LabError(.plugin, "node \(node.index) has no subnet") }
            return subnet
        }
        func endpoints(_ third: Int) -> [TunnelEndpoint] {
            (0..<2).map { TunnelEndpoint(namespace: namespaces[$0], underlayAddress: underlay[$0], tunnelAddress: "172.30.\(third).\($0 + 1)", subnets: [subnets[$0]]) }
        }
        do {
            for mode in modes {
                switch mode {
                case .flannelBaseline where backend == .vxlan:
                    progress?("[reference] flannel-baseline: hand-built VXLAN on 4789, MTU 1450…")
                    let vteps = try await HandBuiltVXLAN.build(nodes: nodes)
                    routes[mode] = (0..<2).map { ["route", "replace", subnets[1 - $0], "via", vteps[1 - $0], "dev", HandBuiltVXLAN.device, "onlink"] }
                case .flannelBaseline:
                    routes[mode] = (0..<2).map { ["route", "replace", subnets[1 - $0], "via", underlay[1 - $0], "dev", "eth0", "proto", "94"] }
                case .vxlan:
                    progress?("[reference] vxlan: kernel VXLAN on UDP 6784…")
                    for index in 0..<2 {
                        let namespace = namespaces[index]
                        try HandBuiltVXLAN.ip(namespace, [
                            "link", "add", Self.vxlanDevice, "type", "vxlan", "id", "43", "local", underlay[index], "remote", underlay[1 - index],
                            "dev", "eth0", "dstport", "6784",
                        ])
                        try HandBuiltVXLAN.ip(namespace, ["addr", "add", "172.30.3.\(index + 1)/24", "dev", Self.vxlanDevice])
                        try HandBuiltVXLAN.ip(namespace, ["link", "set", Self.vxlanDevice, "mtu", String(HandBuiltVXLAN.overlayMTU), "up"])
                    }
                    routes[mode] = (0..<2).map { ["route", "replace", subnets[1 - $0], "via", "172.30.3.\(2 - $0)", "dev", Self.vxlanDevice] }
                case .wireguardGo:
                    progress?("[reference] wireguard-go…")
                    let ends = endpoints(1)
                    let tunnel = try await UserSpaceTunnel.wireguardGo(
                        between: ends[0], ends[1], directory: directory, devices: UserSpaceTunnel.uniqueDeviceNames(prefix: "cdpwg"))
                    tunnels[mode] = tunnel
                    routes[mode] = (0..<2).map { ["route", "replace", subnets[1 - $0], "dev", tunnel.devices[$0]] }
                case .tinc:
                    progress?("[reference] tinc (RSA keys, router mode)…")
                    let ends = endpoints(2)
                    let tunnel = try await UserSpaceTunnel.tinc(
                        between: ends[0], ends[1], directory: directory, devices: UserSpaceTunnel.uniqueDeviceNames(prefix: "cdptc"))
                    tunnels[mode] = tunnel
                    routes[mode] = (0..<2).map { ["route", "replace", subnets[1 - $0], "dev", tunnel.devices[$0]] }
                default:
                    continue
                }
            }
        } catch {
            remove()
            throw error
        }
    }

    /// Points both nodes' routes at `mode`'s path and gives both pods `podMTU`.
    func activate(_ mode: DatapathMode, podMTU: Int, lab: DatapathLabSetup) throws {
        guard let routes = routes[mode] else { throw LabError(.state, "\(mode) was not built") }
        for (node, route) in zip(lab.nodes, routes) {
            try HandBuiltVXLAN.ip(try NetworkNamespace.open(name: node.networkNamespace), route)
        }
        for pod in [lab.clientNamespace, lab.serverNamespace] {
            try HandBuiltVXLAN.ip(pod, ["link", "set", "eth0", "mtu", String(podMTU)])
        }
    }

    /// The daemons of `mode`'s path (both ends), whose CPU counts for it.
    func daemons(of mode: DatapathMode) -> [Int32] { tunnels[mode]?.processes.map(\.pid) ?? [] }

    /// Stops the tunnels' daemons (once); the kernel devices go with the lab's namespaces.
    mutating func remove() {
        for tunnel in tunnels.values { tunnel.remove() }
        tunnels = [:]
    }
}

/// flannel's vxlan baseline in `cnilab bench datapath`: the reference lab's nodes joined by a
/// VXLAN overlay built by hand with iproute2, exactly the kernel objects flannel programs
/// (VNI 1 on port 8472 is flannel's; this uses VNI 42 on 4789 so nothing is mistaken for it):
/// device, the node's VTEP address (its subnet's network address), permanent neighbour and FDB
/// entries; the routes are set by ``HandBuiltPaths/activate(_:podMTU:lab:)``.
enum HandBuiltVXLAN {
    static let device = "vxbase0"
    static let overlayMTU = 1450

    /// Builds the devices; returns each node's VTEP address.
    static func build(nodes: [LabNode]) async throws -> [String] {
        struct Node { var namespace: NetworkNamespace; var underlay: String; var vtep: String }
        var built: [Node] = []
        for node in nodes {
            guard let subnet = node.subnet else { throw LabError(.plugin, "node \(node.index) has no subnet") }
            let namespace = try NetworkNamespace.open(name: node.networkNamespace)
            let underlay = String(node.underlayAddress.split(separator: "/").first ?? "")
            let vtep = String(subnet.split(separator: "/").first ?? "")
            try ip(namespace, ["link", "add", device, "type", "vxlan", "id", "42", "local", underlay, "dev", "eth0", "dstport", "4789", "nolearning"])
            try ip(namespace, ["link", "set", device, "mtu", String(overlayMTU), "up"])
            try ip(namespace, ["addr", "add", vtep + "/32", "dev", device])
            built.append(Node(namespace: namespace, underlay: underlay, vtep: vtep))
        }
        var macs: [String] = []
        for node in built {
            let output = try ip(node.namespace, ["-j", "link", "show", device])
            let links = try JSONSerialization.jsonObject(with: Data(output.utf8)) as? [[String: Any]]
            guard let mac = links?.first?["address"] as? String else { throw LabError(.process, "no MAC on \(device)") }
            macs.append(mac)
        }
        for (index, node) in built.enumerated() {
            for (other, remote) in built.enumerated() where other != index {
                try ip(node.namespace, ["neigh", "replace", remote.vtep, "lladdr", macs[other], "dev", device, "nud", "permanent"])
                let fdb = try node.namespace.runProcess(
                    "/usr/sbin/bridge", arguments: ["fdb", "append", macs[other], "dev", device, "dst", remote.underlay, "self", "permanent"])
                guard fdb.status.isSuccess else { throw LabError(.process, "bridge fdb append: \(fdb.standardErrorText)") }
            }
        }
        return built.map(\.vtep)
    }

    @discardableResult
    static func ip(_ namespace: NetworkNamespace, _ arguments: [String]) throws -> String {
        let output = try namespace.runProcess("/usr/sbin/ip", arguments: arguments, timeoutMilliseconds: 10_000)
        guard output.status.isSuccess else {
            throw LabError(.process, "ip \(arguments.joined(separator: " ")): \(output.standardErrorText)")
        }
        return output.standardOutputText
    }
}
