// libFuzzer entry for the Mesh gossip decoder and engine. Built by Fuzz/run-mesh-gossip.sh with
// `swiftc -sanitize=fuzzer,address` together with the Mesh gossip, routes and identity sources.
import NIOCore

@_cdecl("LLVMFuzzerTestOneInput")
public func meshGossipFuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let buffer = ByteBufferAllocator().buffer(bytes: UnsafeBufferPointer(start: data, count: size))
    guard let message = try? GossipMessage(decoding: buffer) else { return 0 }
    // What decodes encodes to the same bytes (one canonical form).
    guard let again = try? message.encoded(), again == buffer else { fatalError("gossip message did not round-trip") }
    // Whatever decodes, the engine takes without crashing, from a neighbour and from a stranger.
    var engine = GossipEngine(identity: PeerIdentity(name: PeerName(rawValue: 0x0200_0000_0001)!, nickname: "fuzz", uid: 1))
    let neighbour = PeerName(rawValue: 0x0200_0000_0002)!
    _ = engine.setLocalConnections([PeerConnection(peer: neighbour, remoteAddress: "127.0.0.2:6783", outbound: true, established: true)])
    for sender in [neighbour, PeerName(rawValue: 0x0200_0000_0003)!] {
        let output = engine.receive(message, from: sender)
        for send in output.sends { _ = try? send.message.encoded() }
    }
    _ = engine.routes()
    _ = engine.status()
    return 0
}
