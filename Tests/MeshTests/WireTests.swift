import NIOCore
import Testing
@testable import Mesh

@Suite struct WireTests {
    static let identity = PeerIdentity(name: PeerName(rawValue: 0x6a1f_0000_0001)!, nickname: "node-1", uid: 0xdead_beef)

    static let samples: [MeshMessage] = [
        .hello(MeshHello(versions: 1...3, identity: identity, hasSecret: true, ephemeralPublicKey: Array(0..<32))),
        .hello(MeshHello(versions: 2...2, identity: PeerIdentity(name: PeerName(rawValue: 5)!, nickname: "", uid: 0), hasSecret: false, ephemeralPublicKey: Array(repeating: 0, count: 32))),
        .confirm(Array(repeating: 0xab, count: 32)),
        .heartbeat,
        .gossip(channel: "topology", payload: [1, 2, 3, 4]),
        .gossip(channel: "", payload: []),
        .close(MeshCloseReason(.secretMismatch, "the mesh secrets differ", byPeer: true)),
    ]

    @Test func messagesRoundTrip() throws {
        for message in Self.samples {
            #expect(try MeshMessage.decode(message.encoded()) == message)
        }
    }

    @Test func rejectsMalformedMessages() {
        let bad: [[UInt8]] = [
            [], [0], [9], [1, 0x47, 0x45, 0x54, 0x20],  // hello without the marker ("GET ")
            Array(MeshMessage.samplesHelloPrefix), [2, 1, 2], [3, 0], [4, 5, 0x61], [5],
            [4, 2, 0xff, 0xfe, 1],  // channel name not UTF-8
        ]
        for body in bad {
            #expect(throws: MeshError.self, "\(body)") { try MeshMessage.decode(body) }
        }
        // An empty version range.
        var hello = Self.samples[0].encoded()
        hello[5] = 4
        hello[6] = 3
        #expect(throws: MeshError.self) { try MeshMessage.decode(hello) }
    }

    @Test func helloIgnoresTrailingExtensions() throws {
        let hello = Self.samples[0].encoded() + [1, 2, 3]
        #expect(try MeshMessage.decode(hello) == Self.samples[0])
    }

    @Test func framesWaitForCompleteInputAndBoundTheLength() throws {
        var buffer = ByteBufferAllocator().buffer(capacity: 16)
        MeshFrame.write([1, 2, 3], to: &buffer)
        MeshFrame.write([4], to: &buffer)
        var partial = buffer.getSlice(at: 0, length: 5)!
        #expect(try MeshFrame.read(from: &partial) == nil)
        #expect(partial.readableBytes == 5)
        #expect(try MeshFrame.read(from: &buffer).map { Array($0.readableBytesView) } == [1, 2, 3])
        #expect(try MeshFrame.read(from: &buffer).map { Array($0.readableBytesView) } == [4])
        #expect(try MeshFrame.read(from: &buffer) == nil)
        for length: UInt32 in [0, 1025, 0x4745_5420, .max] {
            var bad = ByteBufferAllocator().buffer(capacity: 8)
            bad.writeInteger(length)
            #expect(throws: MeshError.self) { try MeshFrame.read(from: &bad, maximumSize: 1024) }
        }
    }

    @Test func randomInputNeverCrashes() {
        var generator = SeededGenerator(state: 7)
        for _ in 0..<20_000 {
            let count = Int.random(in: 0..<80, using: &generator)
            var bytes = (0..<count).map { _ in UInt8.random(in: 0...255, using: &generator) }
            if !bytes.isEmpty, Bool.random(using: &generator) { bytes[0] = UInt8.random(in: 1...5, using: &generator) }
            _ = try? MeshMessage.decode(bytes)
            var buffer = ByteBufferAllocator().buffer(bytes: bytes)
            while let frame = try? MeshFrame.read(from: &buffer, maximumSize: 64) { _ = try? MeshMessage.decode(frame.readableBytesView) }
        }
        for message in Self.samples {
            let encoded = message.encoded()
            for length in 0..<encoded.count { _ = try? MeshMessage.decode(encoded.prefix(length)) }
        }
    }
}

extension MeshMessage {
    /// A hello cut right after its marker.
    static let samplesHelloPrefix: [UInt8] = [1] + MeshHello.magic + [1]
}
