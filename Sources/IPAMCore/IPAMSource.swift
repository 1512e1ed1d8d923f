import CNISpec
import NetPrimitives

/// Where a plugin's addresses come from: `ipam.type` `host-local` served in process by
/// ``HostLocalAllocator`` (the reference plugin's keys and files, so a node can switch between
/// the exec'd plugin and this path in both directions, saving a process per ADD and DEL), or
/// any other IPAM plugin run from `CNI_PATH` as the specification's delegation says.
///
/// Requests for addresses the in-process path does not read (`runtimeConfig.ips`, `args`) go to
/// the real `host-local` plugin; `IP=` in `CNI_ARGS` is honoured in process. Every failure is
/// a `CNIError` from IPAM's one table (``IPAMError/cniCode``).
///
/// ```swift
/// let ipam = try IPAMSource(request: request)
/// var result = try await ipam.add()               // addresses, routes, DNS
/// do { try configureThePod(result) } catch { try? await ipam.delete(); throw error }
/// ```
public enum IPAMSource: Sendable {
    /// host-local in this process.
    case hostLocal(InProcessHostLocal)
    /// The IPAM plugin named by `ipam.type`, run as a process.
    case delegated(DelegatedPlugin)

    /// The source the request's configuration names in `ipam` (code 7 without one);
    /// `inProcess: false` always delegates.
    public init(request: PluginRequest, inProcess: Bool = true) throws(CNIError) {
        let configuration = try request.configuration(as: NoOptions.self)
        guard let ipam = configuration.ipam, !ipam.type.isEmpty else {
            throw CNIError(.invalidNetworkConfig, "the network configuration needs an \"ipam\" section with a \"type\"")
        }
        if inProcess, ipam.type == InProcessHostLocal.type, configuration.runtimeConfig?["ips"] == nil, configuration.args == nil {
            self = .hostLocal(try InProcessHostLocal(network: configuration.name ?? "", ipam: ipam, request: request))
        } else {
            self = .delegated(DelegatedPlugin(type: ipam.type, request: request))
        }
    }

    /// ADD: the addresses (with their subnet's prefix and gateway), routes and DNS, in the 1.x model.
    public func add() async throws(CNIError) -> CNIResult {
        switch self {
        case .hostLocal(let hostLocal): try hostLocal.add()
        case .delegated(let plugin): try await plugin.add().current()
        }
    }

    /// DEL: releases the attachment's addresses; succeeds when there are none.
    public func delete() async throws(CNIError) {
        switch self {
        case .hostLocal(let hostLocal): try hostLocal.delete()
        case .delegated(let plugin): try await plugin.delete()
        }
    }

    /// CHECK: the attachment still holds its addresses.
    public func check() async throws(CNIError) {
        switch self {
        case .hostLocal(let hostLocal): try hostLocal.check()
        case .delegated(let plugin): try await plugin.check()
        }
    }

    /// GC: releases the addresses of attachments not in `validAttachments`.
    public func garbageCollect(validAttachments: [NetworkAttachment]) async throws(CNIError) {
        switch self {
        case .hostLocal(let hostLocal): try hostLocal.garbageCollect(validAttachments: validAttachments)
        case .delegated(let plugin): try await plugin.garbageCollect()
        }
    }

    /// STATUS: whether ADD can get addresses (in process: the data directory could be opened).
    public func status() async throws(CNIError) {
        switch self {
        case .hostLocal: break
        case .delegated(let plugin): try await plugin.status()
        }
    }
}

/// host-local for one request, in process: ``HostLocalAllocator`` with the request's
/// container ID, interface name and `IP=` addresses from `CNI_ARGS`.
public struct InProcessHostLocal: Sendable {
    /// `host-local`, the `ipam.type` this serves.
    public static let type = "host-local"

    public var allocator: HostLocalAllocator
    public var containerID: String
    public var interfaceName: String
    /// Addresses asked for with `IP=` in `CNI_ARGS` (comma-separated, a prefix ignored).
    public var requested: [IPAddress]

    public init(network: String, ipam: IPAMConfiguration, request: PluginRequest) throws(CNIError) {
        let configuration: HostLocalConfiguration = try ipam.decode()
        do { allocator = try HostLocalAllocator(network: network, configuration: configuration) } catch {
            throw cniError(error)
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

    public func add() throws(CNIError) -> CNIResult {
        do {
            return CNIResult(try allocator.allocate(containerID: containerID, interfaceName: interfaceName, requested: requested))
        } catch {
            throw cniError(error)
        }
    }

    public func delete() throws(CNIError) {
        do { _ = try allocator.release(containerID: containerID, interfaceName: interfaceName) } catch {
            throw cniError(error)
        }
    }

    public func check() throws(CNIError) {
        do { _ = try allocator.check(containerID: containerID, interfaceName: interfaceName) } catch {
            throw cniError(error, "host-local")
        }
    }

    public func garbageCollect(validAttachments: [NetworkAttachment]) throws(CNIError) {
        do {
            _ = try allocator.garbageCollect(
                validAttachments: validAttachments.map { Attachment(containerID: $0.containerID, interfaceName: $0.interfaceName) })
        } catch {
            throw cniError(error)
        }
    }
}
