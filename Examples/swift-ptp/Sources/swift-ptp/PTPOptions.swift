/// The reference ptp plugin's own keys, next to the protocol's (`name`, `type`, `ipam`, `dns`
/// and `ipMasq` are decoded by `NetworkConfiguration` itself).
struct PTPOptions: Codable, Sendable {
    /// MTU of both veth ends; absent or 0 keeps the kernel's default.
    var mtu: Int?

    /// `mtu` as `PodAttachment` takes it (nil for the kernel's default).
    var linkMTU: Int? { (mtu ?? 0) > 0 ? mtu : nil }
}
