import CNISpec
import IPAM
import NetPrimitives

/// `ipam.type` `host-local` served in process by the IPAM library's ``HostLocalAllocator``:
/// the same configuration keys and the same files in the same data directory
/// (`/var/lib/cni/networks/NETWORK/ADDRESS`, `last_reserved_ip.N`, the flocked `lock`, no
/// fsync, as the reference plugin), so a node can switch between the exec'd reference plugin
/// and this path in both directions. It saves the second process of every ADD and DEL.
///
/// Requests the reference plugin takes from places this path does not read
/// (`runtimeConfig.ips`, `args.cni.ips`) go to the real plugin instead (see
/// ``AddressSource/init(configuration:request:)``); `IP=` in CNI_ARGS is honoured here.
struct HostLocalAddressing: Sendable {
    var allocator: HostLocalAllocator
    var containerID: String
    var interfaceName: String
    var requested: [IPAddress]

    static let type = "host-local"

    /// Whether the request can be served in process (nothing asks for addresses through the
    /// runtime configuration or `args`).
    static func servesInProcess(_ configuration: CalicoNetworkConfiguration) -> Bool {
        configuration.runtimeConfig?.ips == nil && configuration.args == nil
    }

    init(configuration: CalicoNetworkConfiguration, ipam: IPAMConfiguration, request: PluginRequest) throws(CNIError) {
        let hostLocal: HostLocalConfiguration = try ipam.decode()
        do {
            allocator = try HostLocalAllocator(network: configuration.name ?? "", configuration: hostLocal)
        } catch {
            throw CNIError.fromIPAM(error)
        }
        containerID = request.containerID
        interfaceName = request.interfaceName?.value ?? ""
        var requested: [IPAddress] = []
        for text in (request.arguments["IP"] ?? "").split(separator: ",") {
            let address = text.split(separator: "/").first.map(String.init) ?? String(text)
            guard let parsed = IPAddress(address) else {
                throw CNIError(.invalidNetworkConfig, "invalid requested IP \"\(text)\" in CNI_ARGS")
            }
            if !requested.contains(parsed) { requested.append(parsed) }
        }
        self.requested = requested
    }

    func allocate() throws(CNIError) -> CNIResult {
        let allocation: IPAMAllocation
        do {
            allocation = try allocator.allocate(containerID: containerID, interfaceName: interfaceName, requested: requested)
        } catch {
            throw CNIError.fromIPAM(error)
        }
        let dns = allocation.dns
        return CNIResult(
            ips: allocation.addresses.map { CNIResult.IPConfiguration(address: $0.address, gateway: $0.gateway) },
            dns: DNS(nameservers: dns.nameservers, domain: dns.domain, search: dns.search, options: dns.options))
    }

    func release() throws(CNIError) {
        do { _ = try allocator.release(containerID: containerID, interfaceName: interfaceName) } catch {
            throw CNIError.fromIPAM(error)
        }
    }

    func check() throws(CNIError) {
        do { _ = try allocator.check(containerID: containerID, interfaceName: interfaceName) } catch {
            throw CNIError(.internal, "host-local: \(error)")
        }
    }

    func garbageCollect(validAttachments: [NetworkAttachment]) throws(CNIError) {
        do {
            _ = try allocator.garbageCollect(
                validAttachments: validAttachments.map { Attachment(containerID: $0.containerID, interfaceName: $0.interfaceName) })
        } catch {
            throw CNIError.fromIPAM(error)
        }
    }
}
