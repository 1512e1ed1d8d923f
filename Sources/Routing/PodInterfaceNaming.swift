import NetPrimitives

/// Names of the devices of a pod attachment.
public enum PodInterfaceNaming {
    /// The host end of a pod's veth pair: `prefix` followed by eight hex digits of a 64-bit
    /// FNV-1a hash of `containerID` and `interfaceName`, so that the same attachment always
    /// gets the same name (DEL finds it without the pod namespace) and different attachments
    /// practically never clash (`veth3f2a9c01`).
    ///
    /// `prefix` must leave room for the eight digits (at most 7 bytes).
    public static func hostInterfaceName(
        containerID: String, interfaceName: String, prefix: String = "veth"
    ) -> InterfaceName {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in containerID.utf8 + [0] + interfaceName.utf8 {
            hash ^= UInt64(byte)
            hash = hash &* 0x0000_0100_0000_01b3
        }
        let folded = UInt32(truncatingIfNeeded: hash ^ (hash >> 32))
        var digits = String(folded, radix: 16)
        digits = String(repeating: "0", count: 8 - digits.count) + digits
        let safePrefix = String(prefix.utf8.prefix(7)) ?? "veth"
        // 7 + 8 bytes fit the kernel's 15-byte limit, so the name is always valid.
        return try! InterfaceName(safePrefix + digits)
    }
}
