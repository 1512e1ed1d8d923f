// libFuzzer entry for the mesh frame decoder and message codec. Built by Fuzz/run-mesh.sh with
// `swiftc -sanitize=fuzzer,address` together with the Mesh wire sources.
import NIOCore

@_cdecl("LLVMFuzzerTestOneInput")
public func meshFrameFuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = UnsafeBufferPointer(start: data, count: size)
    // The first byte picks the frame size limit (bit 0: 64 bytes, else the default); the rest
    // is a TCP byte stream of frames, each decoded as a message.
    guard let selector = bytes.first else { return 0 }
    let limit = selector & 1 != 0 ? 64 : MeshFrame.defaultMaximumSize
    var buffer = ByteBufferAllocator().buffer(bytes: bytes.dropFirst())
    while true {
        let frame: ByteBuffer
        do {
            guard let next = try MeshFrame.read(from: &buffer, maximumSize: limit) else { break }
            frame = next
        } catch {
            break
        }
        precondition(frame.readableBytes >= 1 && frame.readableBytes <= limit)
        guard let message = try? MeshMessage.decode(frame.readableBytesView) else { continue }
        // What decodes encodes again and decodes to the same message (a close detail may be
        // re-truncated, so only its kind is compared).
        let again = try! MeshMessage.decode(message.encoded())
        if case .close(let reason) = message, case .close(let other) = again {
            precondition(reason.kind == other.kind)
        } else {
            precondition(again == message)
        }
    }
    return 0
}
