import CNISpec
import Namespaces
import Netlink
import NetPrimitives

/// The request checks and namespace handles every attaching plugin needs, with one set of CNI
/// codes: a missing `CNI_IFNAME` or `CNI_NETNS`, or a `CNI_NETNS` that cannot be opened, is 4
/// (invalid environment variables); a netlink socket that cannot be opened is 999.
extension PluginRequest {
    /// The pod's network namespace (`CNI_NETNS`), required and opened.
    public func podNamespace() throws(CNIError) -> NetworkNamespace {
        guard !networkNamespace.isEmpty else { throw CNIError(.invalidEnvironmentVariables, "CNI_NETNS is required") }
        do { return try NetworkNamespace.open(path: networkNamespace) } catch {
            throw CNIError(.invalidEnvironmentVariables, "failed to open netns \(networkNamespace)", details: "\(error)")
        }
    }

    /// A netlink handle in the pod's network namespace (``podNamespace()``).
    public func podHandle() throws(CNIError) -> NetlinkHandle {
        try Self.handle(in: podNamespace())
    }

    /// A netlink handle in the node's namespace (the one the plugin runs in).
    public static func nodeHandle() throws(CNIError) -> NetlinkHandle {
        let namespace: NetworkNamespace
        do { namespace = try NetworkNamespace.current() } catch {
            throw CNIError(.internal, "failed to open the node's network namespace", details: "\(error)")
        }
        return try handle(in: namespace)
    }

    /// A netlink handle bound to `namespace`.
    public static func handle(in namespace: NetworkNamespace) throws(CNIError) -> NetlinkHandle {
        do { return try NetlinkHandle(namespace: namespace) } catch {
            throw CNIError(.internal, "failed to open netlink in \(namespace)", details: "\(error)")
        }
    }
}

/// What an attaching plugin opens for a request: the pod's namespace and a netlink handle in
/// it and in the node (`PluginRequest.attachmentHandles()`).
public struct AttachmentHandles: Sendable {
    /// `CNI_IFNAME`.
    public var interfaceName: InterfaceName
    /// The pod's network namespace (`CNI_NETNS`).
    public var podNamespace: NetworkNamespace
    /// A netlink handle in the pod's namespace.
    public var pod: NetlinkHandle
    /// A netlink handle in the node's namespace (the one the plugin runs in).
    public var node: NetlinkHandle
}

extension PluginRequest {
    /// `CNI_IFNAME`, the pod's namespace and netlink handles in the pod and in the node, with the
    /// codes of `requiredInterfaceName()` (CNISpec) and ``podNamespace()``.
    ///
    /// ```swift
    /// let handles = try request.attachmentHandles()
    /// let veth = PodAttachment(request: request, handles: handles, mtu: 1500)
    /// let links = try veth.create(host: handles.node, pod: handles.pod)
    /// ```
    public func attachmentHandles() throws(CNIError) -> AttachmentHandles {
        let interfaceName = try requiredInterfaceName()
        let namespace = try podNamespace()
        return AttachmentHandles(
            interfaceName: interfaceName, podNamespace: namespace, pod: try Self.handle(in: namespace), node: try Self.nodeHandle())
    }
}

extension PodAttachment {
    /// The veth pair of a request: its container ID, `CNI_IFNAME` and pod namespace; the host
    /// end named by ``PodInterfaceNaming/hostInterfaceName(containerID:interfaceName:prefix:)``
    /// with `hostInterfacePrefix`.
    public init(request: PluginRequest, handles: AttachmentHandles, mtu: Int? = nil, hostInterfacePrefix: String = "veth") {
        self.init(
            containerID: request.containerID, interfaceName: handles.interfaceName, podNamespace: handles.podNamespace, mtu: mtu,
            hostInterface: PodInterfaceNaming.hostInterfaceName(
                containerID: request.containerID, interfaceName: handles.interfaceName.value, prefix: hostInterfacePrefix))
    }
}
