import CNISpec
import IPAM
import Namespaces
import Netlink
import NetPrimitives
import Routing
import Weave

#if canImport(Glibc)
import Glibc
#endif

/// swift-weave: Weave Net's pod attachment. Each pod gets a veth pair whose host end
/// (`vethwepl…`) is a port of bridge `weave` (hairpin on), and an address from the local
/// swift-weaved's share of the ring, asked for over its local socket; the bridge's own ring
/// address is the pod's default gateway, and the whole range is one L2 network across nodes.
struct SwiftWeavePlugin: CNIPlugin {
    var about: String { "swift-weave: Weave Net's bridge and ring-allocated addresses for pods (swift-cni)" }

    func add(_ request: PluginRequest) async throws -> CNIResult {
        let options = try WeaveOptions(decoding: request.configurationBytes)
        let interface = try request.requiredInterfaceName()
        try Self.validateContainerID(request.containerID)
        let capabilities = options.runtimeConfig ?? RuntimeCapabilities()
        try capabilities.refuseUnhonoured(WeaveOptions.honouredCapabilities, plugin: "swift-weave")
        let mac = try capabilities.macAddress()
        let registry = try PodRecordWriter(options: options)
        let podNamespace = try request.podNamespace()
        let host = try PluginRequest.nodeHandle()
        let pod = try PluginRequest.handle(in: podNamespace)
        let client = options.client
        let owner = Self.addressOwner(containerID: request.containerID, interface: interface.value)
        let answer = try Self.agent { () throws(WeaveError) in try client.perform(WeaveAgentRequest(operation: .allocate, containerID: owner)) }
        let release = { _ = try? client.perform(WeaveAgentRequest(operation: .release, containerID: owner)) }
        guard let addressText = answer.address, let address = try? IPNetwork(parsing: addressText),
            let gatewayText = answer.gateway, let gateway = try? IPAddress(parsing: gatewayText)
        else {
            release()
            throw CNIError(.internal, "swift-weaved answered without an address and gateway")
        }
        let attachment = PodAttachment(
            containerID: request.containerID, interfaceName: interface, podNamespace: podNamespace, mtu: answer.mtu,
            bridge: WeaveNames.bridge, hairpin: options.hairpin,
            hostInterface: WeaveNames.hostInterface(containerID: request.containerID, interfaceName: interface.value),
            containerMACAddress: mac)
        let links: PodAttachment.Links
        let bridge: Link
        do {
            bridge = try host.link(named: WeaveNames.bridge)
            links = try attachment.create(host: host, pod: pod)
        } catch {
            release()
            throw CNIError.fromIPAM(error, "bridge \(WeaveNames.bridge) is missing: is swift-weaved running?")
        }
        var result = CNIResult(
            cniVersion: request.version,
            interfaces: [
                CNIResult.Interface(name: bridge.name, mac: bridge.macAddress),
                CNIResult.Interface(name: links.host.name, mac: links.host.macAddress),
                CNIResult.Interface(name: links.container.name, mac: links.container.macAddress, sandbox: request.networkNamespace),
            ],
            ips: [CNIResult.IPConfiguration(address: address, gateway: gateway, interface: 2)],
            routes: [CNIRoute(destination: try! IPNetwork(parsing: "0.0.0.0/0"), gateway: gateway)])
        if let dns = capabilities.resultDNS { result.dns = dns }
        do {
            try PodAddressing.apply(result, interface: interface, pod: pod)
            // Host end: the pod's address without the bridge port.
            try await registry?.register(request, addresses: ["\(address.address)"], hostInterface: nil)
        } catch {
            _ = try? attachment.remove(host: host)
            release()
            throw error
        }
        return result
    }

    func delete(_ request: PluginRequest) async throws {
        let options = try WeaveOptions(decoding: request.configurationBytes)
        let interface = try request.requiredInterfaceName()
        let host = try PluginRequest.nodeHandle()
        _ = try PodAttachment.remove(
            hostInterface: WeaveNames.hostInterface(containerID: request.containerID, interfaceName: interface.value), host: host)
        if let registry = try PodRecordWriter(options: options) { try await registry.unregister(request) }
        // DEL succeeds while the agent is down: the address stays held until GC (retain) frees it.
        do throws(WeaveError) {
            let owner = Self.addressOwner(containerID: request.containerID, interface: interface.value)
            _ = try options.client.perform(WeaveAgentRequest(operation: .release, containerID: owner))
        } catch where error.code == .agentUnavailable {
            let line = "swift-weave: \(error.message); the address of \(request.containerID) is freed by the next GC\n"
            _ = line.withCString { write(2, $0, strlen($0)) }
        } catch {
            throw CNIError(.internal, "releasing the address of \(request.containerID)", details: error.message)
        }
    }

    /// CHECK: the host end in bridge `weave`, the pod end with the prevResult's addresses and
    /// routes.
    func check(_ request: PluginRequest) async throws {
        _ = try WeaveOptions(decoding: request.configurationBytes)
        let interface = try request.requiredInterfaceName()
        guard let previous = try request.previousResult() else { throw CNIError(.invalidNetworkConfig, "CHECK needs a prevResult") }
        let host = try PluginRequest.nodeHandle()
        try CheckValidation.validateHost(
            hostInterface: WeaveNames.hostInterface(containerID: request.containerID, interfaceName: interface.value),
            bridge: WeaveNames.bridge, host: host)
        let podNamespace = try request.podNamespace()
        try CheckValidation.validatePod(previous, interface: interface, pod: try PluginRequest.handle(in: podNamespace))
    }

    /// GC: every address of a container not among the valid attachments is freed.
    func garbageCollect(_ request: PluginRequest) async throws {
        let options = try WeaveOptions(decoding: request.configurationBytes)
        let keep = (options.validAttachments ?? []).map { Self.addressOwner(containerID: $0.containerID, interface: $0.interfaceName) }
        _ = try Self.agent { () throws(WeaveError) in try options.client.perform(WeaveAgentRequest(operation: .retain, containerIDs: keep)) }
    }

    /// STATUS: fails (code 50) while the agent is down, crashed or not ready (its readiness
    /// file: no socket round trip, so a polling runtime never waits).
    func status(_ request: PluginRequest) async throws {
        let options = try WeaveOptions(decoding: request.configurationBytes)
        try AgentReadiness.check(path: options.readinessPath, agent: "swift-weaved")
    }

    // MARK: Helpers

    /// Who holds an attachment's address in the agent's ring: the container ID for the pod's
    /// main interface (`eth0`, as before), `<containerID>.<interface>` for a second one (Multus'
    /// `net1`), so one attachment's DEL does not free the other's address.
    static func addressOwner(containerID: String, interface: String) -> String {
        interface == "eth0" || interface.isEmpty ? containerID : containerID + "." + interface
    }

    static func validateContainerID(_ id: String) throws(CNIError) {
        do { try Identifier.validateContainerID(id) } catch { throw CNIError.fromIPAM(error, "invalid container ID") }
    }

    /// Runs an agent call; an unreachable agent is code 11 (try again later), a refusal 999.
    static func agent<T>(_ body: () throws(WeaveError) -> T) throws(CNIError) -> T {
        do { return try body() } catch {
            switch error.code {
            case .agentUnavailable: throw CNIError(.tryAgainLater, "swift-weaved is not running", details: error.message)
            default: throw CNIError(.internal, "swift-weaved: \(error.message)")
            }
        }
    }
}
