import CNISpec
import IPAMCore
import Netlink
import NetPrimitives
import Routing

/// swift-ptp: a veth pair per pod, routed through the host end, with the reference ptp
/// plugin's configuration. The host end gets each IPAM gateway as a host address and a route to
/// the pod address; the pod reaches its gateway on the link and everything else through it.
/// Addresses come from host-local in process, or from any other IPAM plugin run from CNI_PATH.
struct PTPPlugin: CNIPlugin {
    var about: String { "swift-ptp: a routed veth pair per pod (the reference ptp plugin's configuration), built with swift-cni" }

    /// The protocol of the host routes to the pods (`proto boot`, as `ip route add` and ptp).
    static let hostRouteProtocol = Netlink.Route.ProtocolTag.boot

    /// The capabilities swift-ptp honours when its configuration declares them: `mac` (the pod
    /// end's MAC), `ips` (passed to the IPAM plugin, which picks the addresses) and `dns` (into
    /// the result). Any other declared capability is refused with code 2, naming the plugin to
    /// chain instead (portmap, bandwidth).
    static let honouredCapabilities: Set<RuntimeCapabilities.Name> = [.mac, .ips, .dns]

    func add(_ request: PluginRequest) async throws -> CNIResult {
        let configuration = try request.configuration(as: PTPOptions.self)
        let capabilities = try configuration.runtimeCapabilities()
        try capabilities.refuseUnhonoured(Self.honouredCapabilities, plugin: "swift-ptp")
        let mac = try capabilities.macAddress()
        // The namespace first: a request that cannot be served takes no address.
        let handles = try request.attachmentHandles()
        let ipam = try IPAMSource(request: request)
        let allocation = try await ipam.add()
        do {
            guard !allocation.ips.isEmpty else { throw CNIError(.internal, "IPAM plugin returned missing IP config") }
            var veth = PodAttachment(request: request, handles: handles, mtu: configuration.options.linkMTU)
            veth.containerMACAddress = mac
            let routed = PodRoutedAttachment(
                veth: veth, ips: allocation.ips, routes: allocation.routes, hostRouteProtocol: Self.hostRouteProtocol)
            let links = try routed.create(host: handles.node, pod: handles.pod)
            if configuration.ipMasq == true {
                do {
                    try IPMasquerade(network: configuration.name ?? "", containerID: request.containerID)
                        .add(sources: routed.addresses)
                } catch {
                    _ = try? routed.remove(host: handles.node)
                    throw error
                }
            }
            var result = routed.result(links: links, sandbox: request.networkNamespace, version: request.version)
            // The runtime's `dns` capability wins, then the configuration's `dns` when it says
            // anything, else the IPAM's.
            result.dns = capabilities.resultDNS ?? configuration.dns.flatMap { $0.isEmpty ? nil : $0 } ?? allocation.dns
            return result
        } catch {
            try? await ipam.delete()
            throw error
        }
    }

    func delete(_ request: PluginRequest) async throws {
        let configuration = try request.configuration(as: PTPOptions.self)
        try await IPAMSource(request: request).delete()
        guard let interfaceName = request.interfaceName else { return }
        // Through the host end: works when the pod's namespace is already gone.
        let hostInterface = PodInterfaceNaming.hostInterfaceName(containerID: request.containerID, interfaceName: interfaceName.value)
        try PodAttachment.remove(hostInterface: hostInterface, host: try PluginRequest.nodeHandle())
        if configuration.ipMasq == true {
            try IPMasquerade(network: configuration.name ?? "", containerID: request.containerID).remove()
        }
    }

    func check(_ request: PluginRequest) async throws {
        guard let previous = try request.previousResult() else {
            throw CNIError(.invalidNetworkConfig, "swift-ptp: required prevResult missing")
        }
        let ipam = try IPAMSource(request: request)
        try await ipam.check()
        let handles = try request.attachmentHandles()
        guard previous.interfaces.contains(where: { $0.name == handles.interfaceName.value && $0.sandbox == request.networkNamespace })
        else {
            throw CNIError(.internal, "prevResult has no interface \(handles.interfaceName) in sandbox \(request.networkNamespace)")
        }
        let configuration = try request.configuration(as: PTPOptions.self)
        let routed = PodRoutedAttachment(
            veth: PodAttachment(request: request, handles: handles, mtu: configuration.options.linkMTU),
            ips: PodAddressing.addresses(of: previous, interface: handles.interfaceName), routes: previous.routes,
            hostRouteProtocol: Self.hostRouteProtocol)
        try routed.validate(host: handles.node, pod: handles.pod)
        try CheckValidation.validatePod(previous, interface: handles.interfaceName, pod: handles.pod)
    }

    func garbageCollect(_ request: PluginRequest) async throws {
        let configuration = try request.configuration(as: PTPOptions.self)
        try await IPAMSource(request: request).garbageCollect(validAttachments: configuration.validAttachments ?? [])
    }

    func status(_ request: PluginRequest) async throws {
        try await IPAMSource(request: request).status()
    }
}
