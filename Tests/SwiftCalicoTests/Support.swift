/// The host interface swift-calico names for a pod without Kubernetes arguments
/// (mirrors PodIdentity.hostInterfaceName: FNV-1a 64 of "containerID.ifname").
func calicoHostInterface(containerID: String, interfaceName: String = "eth0") -> String {
    var hash: UInt64 = 0xcbf2_9ce4_8422_2325
    for byte in (containerID + "." + interfaceName).utf8 {
        hash ^= UInt64(byte)
        hash &*= 0x0000_0100_0000_01b3
    }
    let hex = String(hash, radix: 16)
    return "cali" + (String(repeating: "0", count: max(0, 16 - hex.count)) + hex).prefix(11)
}
