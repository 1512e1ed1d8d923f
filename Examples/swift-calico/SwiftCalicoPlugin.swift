import CNISpec
import Datastore
import IPAM
import Namespaces
import Netlink
import NetPrimitives
import Routing

/// swift-calico as a ``CNIPlugin``: Calico's routed data path (Routing's `PodRoutedAttachment`:
/// host end `cali…` with MAC ee:ee:ee:ee:ee:ee, /32 host routes `proto 92`), addresses from
/// the block-affinity IPAM or a delegated IPAM plugin (``AddressSource``), and the pod record
/// for the agent (``PodRegistry``).
struct SwiftCalicoPlugin: CNIPlugin {
    var about: String { "swift-calico: routed veth per pod (no bridge, no tunnel), block-affinity IPAM" }

    struct Context {
        var configuration: CalicoNetworkConfiguration
        var identity: PodIdentity
        var addressing: AddressSource
        var hostInterface: InterfaceName
        var podInterface: InterfaceName
        var node: NetlinkHandle
        /// The `mac` capability: the pod end's address.
        var podMACAddress: MACAddress? = nil

        /// The routed veth of this pod in the namespace `pod` is a handle for.
        func routed(pod: NetlinkHandle, addresses: [IPNetwork]) -> PodRoutedAttachment {
            PodRoutedAttachment.calico(
                veth: PodAttachment(
                    containerID: identity.containerID, interfaceName: podInterface, podNamespace: pod.namespace,
                    mtu: configuration.options.effectiveMTU, hostInterface: hostInterface, containerMACAddress: podMACAddress),
                addresses: addresses)
        }
    }

    func context(_ request: PluginRequest, needsInterface: Bool = true) throws(CNIError) -> Context {
        let configuration = try CalicoNetworkConfiguration(decoding: request.configurationBytes)
        let identity = PodIdentity(request: request)
        let interface = needsInterface ? try request.requiredInterfaceName() : request.interfaceName ?? "eth0"
        let node = try PluginRequest.nodeHandle()
        return Context(
            configuration: configuration, identity: identity,
            addressing: try AddressSource(configuration: configuration, request: request),
            hostInterface: identity.hostInterfaceName, podInterface: interface, node: node)
    }

    func add(_ request: PluginRequest) async throws -> CNIResult {
        var context = try context(request)
        let capabilities = context.configuration.runtimeConfig ?? RuntimeCapabilities()
        try capabilities.refuseUnhonoured(context.configuration.honouredCapabilities, plugin: "swift-calico")
        context.podMACAddress = try capabilities.macAddress()
        let pod = try request.podHandle()
        let registry = try PodRegistry(configuration: context.configuration)
        // The pod's labels and named ports from the API (`kubernetes.kubeconfig`), before anything is allocated.
        let metadata = registry == nil ? nil : try PodMetadata.fetch(request)
        func record(_ addresses: [IPNetwork]) -> PodRecord {
            PodRecord(
                namespace: context.identity.recordNamespace, name: context.identity.recordName,
                node: context.configuration.options.nodeName ?? "", containerID: request.containerID,
                interface: context.podInterface.value, addresses: addresses.map { "\($0.address)" },
                hostInterface: context.hostInterface.value, labels: metadata?.labels ?? [:], ports: metadata?.ports)
        }
        // With the block IPAM the pod record goes into the allocation's one datastore
        // transaction (one write per ADD); otherwise it is written once the veth exists.
        let recordWithAllocation = registry != nil && context.addressing.writesAlongsideAllocation
        let allocation = try await context.addressing.allocate { addresses in
            recordWithAllocation ? [try ClusterRegistry.putOperation(record(addresses))] : []
        }
        do {
            let addresses = allocation.ips.map(\.address)
            guard !addresses.isEmpty else { throw CNIError(.internal, "the IPAM returned no address") }
            // The pods' traffic leaves through the node: swift-calico turns forwarding on
            // itself rather than relying on the agent having run first.
            do { try context.node.setIPForwarding(true) } catch {
                throw CNIError(.internal, "failed to enable IPv4 forwarding on the node", details: "\(error)")
            }
            if addresses.contains(where: { $0.family == .v6 }) {
                do { try context.node.setIPForwarding(true, family: .v6) } catch {
                    throw CNIError(.internal, "failed to enable IPv6 forwarding on the node", details: "\(error)")
                }
            }
            let routed = context.routed(pod: pod, addresses: addresses)
            let links = try routed.create(host: context.node, pod: pod)
            if let registry, !recordWithAllocation {
                do { try await registry.register(record(addresses)) } catch {
                    _ = try? routed.remove(host: context.node)
                    throw error
                }
            }
            return CNIResult(
                cniVersion: request.version,
                interfaces: [
                    CNIResult.Interface(name: links.host.name, mac: links.host.macAddress),
                    CNIResult.Interface(name: links.container.name, mac: links.container.macAddress, sandbox: request.networkNamespace),
                ],
                ips: addresses.map { CNIResult.IPConfiguration(address: IPNetwork(host: $0.address), interface: 1) },
                routes: (addresses.contains { $0.family == .v4 }
                    ? [CNIRoute(destination: try IPNetwork(parsing: "0.0.0.0/0"), gateway: PodRoutedAttachment.gateway)] : [])
                    + (addresses.contains { $0.family == .v6 }
                        ? [CNIRoute(destination: try IPNetwork(parsing: "::/0"), gateway: PodRoutedAttachment.ipv6Gateway)] : []),
                dns: capabilities.resultDNS ?? allocation.dns)
        } catch {
            try? await context.addressing.release()
            if recordWithAllocation { try? await registry?.unregister(identity: context.identity) }
            throw error
        }
    }

    /// DEL: tolerant of everything already gone (the pod namespace too: the host end is found
    /// by name in the node's namespace).
    func delete(_ request: PluginRequest) async throws {
        let context = try context(request)
        try PodAttachment.remove(hostInterface: context.hostInterface, host: context.node)
        try await context.addressing.release()
        if let registry = try PodRegistry(configuration: context.configuration) {
            try await registry.unregister(identity: context.identity)
        }
    }

    func check(_ request: PluginRequest) async throws {
        let context = try context(request)
        guard let previous = try request.previousResult() else { throw CNIError(.invalidNetworkConfig, "CHECK needs prevResult") }
        let pod = try request.podHandle()
        try context.routed(pod: pod, addresses: previous.ips.map(\.address)).validate(host: context.node, pod: pod)
        try await context.addressing.check()
    }

    func garbageCollect(_ request: PluginRequest) async throws {
        let context = try context(request, needsInterface: false)
        let valid = Set((context.configuration.validAttachments ?? []).map(\.containerID))
        try await context.addressing.garbageCollect(
            network: context.configuration.name ?? "", validAttachments: context.configuration.validAttachments ?? [])
        if let registry = try PodRegistry(configuration: context.configuration), let node = context.configuration.options.nodeName {
            try await registry.garbageCollect(node: node, validContainerIDs: valid)
        }
    }

    func status(_ request: PluginRequest) async throws {
        let context = try context(request, needsInterface: false)
        // The node agent first (down, crashed or not ready yet: 50), then the IPAM's store.
        try AgentReadiness.check(path: context.configuration.options.readinessPath, agent: "swift-calico-node")
        try await context.addressing.status()
    }
}
