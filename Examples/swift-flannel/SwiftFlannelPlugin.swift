import CNISpec
import Namespaces
import Netlink
import NetPrimitives
import Routing

/// swift-flannel: flannel's CNI plugin and the bridge + host-local plugins it delegates to, in
/// one process. Pods join the node bridge (`cni0`) through a veth pair and get an address from
/// the node subnet that flanneld wrote to subnet.env.
struct SwiftFlannelPlugin: CNIPlugin {
    var about: String { "swift-flannel: flannel's bridge networking for pods, in one process (swift-cni)" }

    func add(_ request: PluginRequest) async throws -> CNIResult {
        let configuration = try FlannelOptions(decoding: request.configurationBytes)
        let settings = try FlannelSettings(configuration)
        let network = try PodNetwork(settings: settings)
        let interfaceName = try request.requiredInterfaceName()
        let capabilities = configuration.runtimeConfig ?? RuntimeCapabilities()
        try capabilities.refuseUnhonoured(FlannelOptions.honouredCapabilities, plugin: "swift-flannel")
        let mac = try capabilities.macAddress()
        let requested = try capabilities.requestedAddresses()
        // Chained after another plugin: its result is kept and ours added (decoded before
        // anything is created, so a bad prevResult leaves nothing behind).
        let previous = configuration.prevResult == nil ? nil : try request.previousResult()
        let podNamespace = try request.podNamespace()
        let host = try PluginRequest.nodeHandle()
        let pod = try PluginRequest.handle(in: podNamespace)

        let bridge = try BridgeAttachment.ensure(
            BridgeConfiguration(
                name: settings.bridge, mtu: network.mtu,
                gatewayAddresses: settings.isGateway ? network.families.map(\.gateway) : [], enablesForwarding: false),
            host: host)
        // A gateway forwards. The plugin runs in the node namespace, so the node handle reads and
        // writes its /proc/sys on the calling thread, without a namespace thread.
        if settings.isGateway { try Self.enableForwarding(host: host, families: network.families.map(\.subnet.family)) }
        let store = PodAddressStore(dataDirectory: settings.dataDirectory, network: settings.networkName)
        let addresses = try store.allocate(
            containerID: request.containerID, interfaceName: interfaceName.value,
            ranges: network.families.map { ($0.subnet, $0.gateway.address) }, requested: requested)
        let attachment = PodAttachment(
            containerID: request.containerID, interfaceName: interfaceName, podNamespace: podNamespace,
            mtu: network.mtu, bridge: settings.bridge, hairpin: settings.hairpin, containerMACAddress: mac)
        let links: PodAttachment.Links
        do {
            links = try attachment.create(host: host, pod: pod)
        } catch {
            _ = try? store.release(containerID: request.containerID, interfaceName: interfaceName.value)
            throw error
        }
        var result = Self.result(
            request: request, settings: settings, network: network, addresses: addresses, bridge: bridge, links: links)
        if let dns = capabilities.resultDNS { result.dns = dns }
        do {
            try PodAddressing.apply(result, interface: interfaceName, pod: pod)
        } catch {
            _ = try? attachment.remove(host: host)
            _ = try? store.release(containerID: request.containerID, interfaceName: interfaceName.value)
            throw error
        }
        if var previous {
            let offset = previous.interfaces.count
            previous.interfaces += result.interfaces
            previous.ips += result.ips.map { ip in
                var ip = ip
                ip.interface = ip.interface.map { $0 + offset }
                return ip
            }
            previous.routes += result.routes
            return previous
        }
        return result
    }

    func delete(_ request: PluginRequest) async throws {
        let configuration = try FlannelOptions(decoding: request.configurationBytes)
        let settings = try FlannelSettings(configuration)
        let interfaceName = try request.requiredInterfaceName()
        // Only the host end is needed: deleting it removes the pod end, also when the pod's
        // namespace is already gone.
        let host = try PluginRequest.nodeHandle()
        let hostInterface = PodInterfaceNaming.hostInterfaceName(
            containerID: request.containerID, interfaceName: interfaceName.value)
        try PodAttachment.remove(hostInterface: hostInterface, host: host)
        let store = PodAddressStore(dataDirectory: settings.dataDirectory, network: settings.networkName)
        guard store.exists else { return }
        try store.release(containerID: request.containerID, interfaceName: interfaceName.value)
    }

    func check(_ request: PluginRequest) async throws {
        let configuration = try FlannelOptions(decoding: request.configurationBytes)
        let settings = try FlannelSettings(configuration)
        let network = try PodNetwork(settings: settings)
        guard let previous = try request.previousResult() else {
            throw CNIError(.invalidNetworkConfig, "CHECK needs a prevResult")
        }
        let interfaceName = try request.requiredInterfaceName()
        let podNamespace = try request.podNamespace()
        let host = try PluginRequest.nodeHandle()
        let pod = try PluginRequest.handle(in: podNamespace)
        let hostInterface = PodInterfaceNaming.hostInterfaceName(
            containerID: request.containerID, interfaceName: interfaceName.value)
        try CheckValidation.validateHost(hostInterface: hostInterface, bridge: settings.bridge, host: host)
        try CheckValidation.validatePod(previous, interface: interfaceName, pod: pod)
        let store = PodAddressStore(dataDirectory: settings.dataDirectory, network: settings.networkName)
        let held = Set(try store.addresses(containerID: request.containerID, interfaceName: interfaceName.value))
        for ip in PodAddressing.addresses(of: previous, interface: interfaceName)
        where network.families.contains(where: { $0.subnet.contains(ip.address.address) }) && !held.contains(ip.address.address) {
            throw CNIError(.internal, "\(ip.address.address) is not reserved for \(request.containerID)/\(interfaceName)")
        }
    }

    func garbageCollect(_ request: PluginRequest) async throws {
        let configuration = try FlannelOptions(decoding: request.configurationBytes)
        let settings = try FlannelSettings(configuration)
        let store = PodAddressStore(dataDirectory: settings.dataDirectory, network: settings.networkName)
        guard store.exists else { return }
        let freed = try store.garbageCollect(valid: configuration.validAttachments ?? [])
        let host = try PluginRequest.nodeHandle()
        for reservation in freed {
            let hostInterface = PodInterfaceNaming.hostInterfaceName(
                containerID: reservation.containerID, interfaceName: reservation.interfaceName ?? "eth0")
            _ = try? PodAttachment.remove(hostInterface: hostInterface, host: host)
        }
    }

    func status(_ request: PluginRequest) async throws {
        let configuration = try FlannelOptions(decoding: request.configurationBytes)
        let settings = try FlannelSettings(configuration)
        // The agent first (down, crashed or not ready yet: 50), then what it wrote.
        try AgentReadiness.check(path: settings.readinessFile, agent: "swift-flanneld")
        do {
            _ = try PodNetwork(settings: settings)
        } catch {
            throw CNIError(.pluginNotAvailable, error.message, details: error.details)
        }
    }

    // MARK: Helpers

    static func result(
        request: PluginRequest, settings: FlannelSettings, network: PodNetwork, addresses: [IPAddress], bridge: Link,
        links: PodAttachment.Links
    ) -> CNIResult {
        var routes: [CNIRoute] = []
        var ips: [CNIResult.IPConfiguration] = []
        for family in network.families {
            let gateway = family.gateway.address
            routes.append(CNIRoute(destination: family.clusterNetwork, gateway: gateway))
            if settings.isDefaultGateway {
                routes.append(CNIRoute(destination: family.subnet.family == .v4 ? IPNetwork.anyIPv4 : IPNetwork.anyIPv6, gateway: gateway))
            }
            for address in addresses where family.subnet.contains(address) {
                ips.append(
                    CNIResult.IPConfiguration(
                        address: try! IPNetwork(address: address, prefixLength: family.subnet.prefixLength),
                        gateway: settings.isGateway ? gateway : nil, interface: 2))
            }
        }
        return CNIResult(
            cniVersion: request.version,
            interfaces: [
                CNIResult.Interface(name: bridge.name, mac: bridge.macAddress),
                CNIResult.Interface(name: links.host.name, mac: links.host.macAddress),
                CNIResult.Interface(
                    name: links.container.name, mac: links.container.macAddress, sandbox: request.networkNamespace),
            ],
            ips: ips, routes: routes)
    }

    /// IP forwarding in the node namespace for each family the pods have, written only when
    /// it is not set yet.
    static func enableForwarding(host: NetlinkHandle, families: [IPAddress.Family]) throws(CNIError) {
        for family in families {
            do {
                let key = family == .v4 ? "net/ipv4/ip_forward" : "net/ipv6/conf/all/forwarding"
                if try host.sysctl(key) == "1" { continue }
                try host.setIPForwarding(true, family: family)
            } catch {
                throw CNIError(.internal, "failed to enable IPv\(family.rawValue) forwarding: \(error)")
            }
        }
    }
}

extension IPNetwork {
    /// `0.0.0.0/0`.
    static let anyIPv4 = try! IPNetwork(parsing: "0.0.0.0/0")
    /// `::/0`.
    static let anyIPv6 = try! IPNetwork(parsing: "::/0")
}
