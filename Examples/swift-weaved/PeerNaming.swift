import IPAM
import Mesh

/// The agent's mesh identity. The 48-bit peer name is derived from the node name (FNV-1a,
/// locally administered unicast bit pattern like a MAC), so a restarted agent is the same peer
/// and finds its ring state again; the UID is new per start (Weave's incarnation).
enum PeerNaming {
    static func name(node: String) -> PeerName {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in "swift-weave/\(node)".utf8 {
            hash ^= UInt64(byte)
            hash = hash &* 0x0000_0100_0000_01b3
        }
        var value = hash & 0xffff_ffff_ffff
        // First byte: locally administered (0x02), unicast (not 0x01).
        value = (value & ~(UInt64(0x01) << 40)) | (UInt64(0x02) << 40)
        return PeerName(rawValue: value)!
    }

    static func identity(node: String) -> PeerIdentity {
        PeerIdentity(name: name(node: node), nickname: node, uid: UInt64.random(in: 1...UInt64.max))
    }

    static func ringPeer(_ name: PeerName, nickname: String = "") -> RingPeer { RingPeer(name: name.rawValue, nickname: nickname) }
}
