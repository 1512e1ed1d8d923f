import CNISpec
import Namespaces
import Netlink
import NetPrimitives

/// A pod's veth pair: the container end is created directly inside the pod namespace under
/// its final name (`CNI_IFNAME`), so nothing is ever named `eth0` on the host; the host end
/// gets a stable name derived from the attachment (``PodInterfaceNaming``), optionally
/// enslaved to a bridge with hairpin mode.
///
/// ```swift
/// let attachment = PodAttachment(containerID: "c1", interfaceName: "eth0", podNamespace: pod, bridge: "cni0")
/// let links = try attachment.create(host: nodeHandle, pod: podHandle)
/// // ip link add veth… mtu M master cni0 up type veth peer name eth0 netns POD
/// // ip -n POD link set eth0 up
/// ```
public struct PodAttachment: Sendable {
    /// The container the pair belongs to (`CNI_CONTAINERID`).
    public var containerID: String
    /// The name of the container end (`CNI_IFNAME`).
    public var containerInterface: InterfaceName
    /// The name of the host end.
    public var hostInterface: InterfaceName
    /// The pod's network namespace, where the container end is created.
    public var podNamespace: NetworkNamespace
    /// MTU of both ends; nil keeps the kernel default (1500).
    public var mtu: Int?
    /// The bridge the host end joins; nil leaves it unattached (routed attachments).
    public var bridge: InterfaceName?
    /// Lets traffic leave through the port it came from (`bridge link set dev veth… hairpin on`).
    public var hairpin: Bool
    /// The host end's MAC address, set in the creation request itself (`ip link add HOST
    /// address MAC …`); nil lets the kernel pick a random one.
    public var hostMACAddress: MACAddress?
    /// The pod end's MAC address (the `mac` capability), set in the creation request; nil
    /// lets the kernel pick one.
    public var containerMACAddress: MACAddress?

    /// An attachment; `hostInterface` defaults to
    /// ``PodInterfaceNaming/hostInterfaceName(containerID:interfaceName:prefix:)``.
    public init(
        containerID: String, interfaceName: InterfaceName, podNamespace: NetworkNamespace, mtu: Int? = nil,
        bridge: InterfaceName? = nil, hairpin: Bool = false, hostInterface: InterfaceName? = nil,
        hostMACAddress: MACAddress? = nil, containerMACAddress: MACAddress? = nil
    ) {
        self.containerMACAddress = containerMACAddress
        self.containerID = containerID
        self.containerInterface = interfaceName
        self.hostInterface = hostInterface
            ?? PodInterfaceNaming.hostInterfaceName(containerID: containerID, interfaceName: interfaceName.value)
        self.podNamespace = podNamespace
        self.mtu = mtu
        self.bridge = bridge
        self.hairpin = hairpin
        self.hostMACAddress = hostMACAddress
    }

    /// Both ends after creation.
    public struct Links: Sendable, Hashable {
        /// The host end, as the node namespace shows it.
        public var host: Link
        /// The container end, as the pod namespace shows it.
        public var container: Link
    }

    /// Creates the pair (`ip link add HOST [address MAC] [mtu M] [master BRIDGE] up type veth
    /// peer name IFNAME mtu M netns POD`: one request), sets the container end up, and hairpin
    /// on the host port when asked. A stale host end of the same attachment (left by a crashed
    /// ADD) is replaced. On failure everything created here is deleted again. `host` is a
    /// handle for the namespace that gets the host end; `pod` one for ``podNamespace``.
    ///
    /// Throws `CNIError` (code 999) naming the step that failed; when the pod already has an
    /// interface named ``containerInterface``, the message says so.
    public func create(host: NetlinkHandle, pod: NetlinkHandle) throws(CNIError) -> Links {
        let specification = LinkSpecification(
            name: hostInterface,
            kind: .veth(peer: VethPeer(name: containerInterface, namespace: podNamespace, macAddress: containerMACAddress, mtu: mtu)),
            mtu: mtu, macAddress: hostMACAddress, master: bridge, isUp: true)
        // The common case costs one request; a name clash (EEXIST from either end) is sorted
        // out afterwards: a taken pod name is the caller's error, a stale host end is replaced.
        do {
            try host.addLink(specification)
        } catch let error as NetlinkError where error.isAlreadyExists {
            if (try? pod.linkIfPresent(named: containerInterface)) ?? nil != nil {
                throw CNIError(.internal, "container interface \(containerInterface) already exists in \(podNamespace)")
            }
            do {
                _ = try host.deleteLinkIfPresent(named: hostInterface)
                try host.addLink(specification)
            } catch {
                throw CNIError(.internal, "failed to create veth pair \(hostInterface)/\(containerInterface)", details: "\(error)")
            }
        } catch {
            throw CNIError(.internal, "failed to create veth pair \(hostInterface)/\(containerInterface)", details: "\(error)")
        }
        do {
            try pod.setLinkUp(containerInterface)
            if hairpin, bridge != nil { try host.setHairpin(true, port: hostInterface) }
            return Links(host: try host.link(named: hostInterface), container: try pod.link(named: containerInterface))
        } catch {
            _ = try? host.deleteLinkIfPresent(named: hostInterface)
            throw CNIError(.internal, "failed to set up veth pair \(hostInterface)/\(containerInterface)", details: "\(error)")
        }
    }

    /// Deletes the pair through its host end (`ip link delete HOST`), which removes the
    /// container end too. Succeeds when it is already gone, also when the pod namespace no
    /// longer exists. Returns whether something was deleted.
    @discardableResult
    public static func remove(hostInterface: InterfaceName, host: NetlinkHandle) throws(CNIError) -> Bool {
        do {
            return try host.deleteLinkIfPresent(named: hostInterface)
        } catch {
            throw CNIError(.internal, "failed to delete \(hostInterface)", details: "\(error)")
        }
    }

    /// ``remove(hostInterface:host:)`` for this attachment's host end.
    @discardableResult
    public func remove(host: NetlinkHandle) throws(CNIError) -> Bool {
        try Self.remove(hostInterface: hostInterface, host: host)
    }
}
