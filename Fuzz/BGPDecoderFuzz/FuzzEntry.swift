// libFuzzer entry for the BGP message decoder. Built by Fuzz/run.sh with
// `swiftc -sanitize=fuzzer,address` together with the BGP codec sources.
import NIOCore

@_cdecl("LLVMFuzzerTestOneInput")
public func bgpDecoderFuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = UnsafeBufferPointer(start: data, count: size)
    // The first byte picks the session context; the rest is a byte stream of messages.
    guard let selector = bytes.first else { return 0 }
    let context = MessageContext(fourOctetAS: selector & 1 != 0, internalPeer: selector & 2 != 0)
    var buffer = ByteBufferAllocator().buffer(bytes: bytes.dropFirst())
    while true {
        do {
            guard let message = try BGPMessage.read(from: &buffer, context: context) else { break }
            // What decodes must encode again (UPDATEs may exceed 4096 bytes after AS4 merge;
            // the encoder then throws, which is fine).
            _ = try? message.encoded(context: context)
            if case .update(let update) = message { _ = (update.allReachable, update.allWithdrawn, update.endOfRIBFamily) }
        } catch {
            break
        }
    }
    return 0
}
