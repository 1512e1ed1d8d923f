import NIOCore
import Testing
@testable import Mesh

@Suite struct GossipCodecTests {
    static func entry(_ index: Int, connections: Int = 3, version: UInt64 = 7) -> PeerEntry {
        let name = MeshSimulation.name(index)
        let peers = (1...max(connections, 1)).prefix(connections).map { offset in
            PeerConnection(peer: MeshSimulation.name(index + offset), remoteAddress: "192.0.2.\(offset):6783", outbound: offset % 2 == 0, established: offset != 2)
        }
        return PeerEntry(identity: PeerIdentity(name: name, nickname: "node-\(index)-é", uid: 0xdead_beef_0000 + UInt64(index)),
                         version: version, shortID: ShortID(rawValue: UInt16(index))!, connections: peers)
    }

    static let patch = PeerEntryPatch(
        name: MeshSimulation.name(5), uid: 9, baseVersion: 3, version: 5, shortID: ShortID(rawValue: 4095)!,
        upserted: [PeerConnection(peer: MeshSimulation.name(8), remoteAddress: "[fd00::8]:6783", outbound: true, established: true)],
        removed: [MeshSimulation.name(7), MeshSimulation.name(6)])

    static let sample = GossipMessage(
        entries: [entry(1), entry(20, connections: 0, version: 1)],
        patches: [patch, PeerEntryPatch(name: MeshSimulation.name(6), uid: 1, baseVersion: 1, version: 2, shortID: ShortID(rawValue: 1)!, upserted: [], removed: [])],
        wants: [MeshSimulation.name(30), MeshSimulation.name(2)],
        digest: [PeerDigest(name: MeshSimulation.name(1), uid: 5, version: 9), PeerDigest(name: MeshSimulation.name(2), uid: 6, version: 1)],
        isDigestReply: true)

    @Test func roundTrips() throws {
        for message in [Self.sample, GossipMessage(), GossipMessage(digest: []), GossipMessage(entries: [Self.entry(3)]),
                        GossipMessage(patches: [Self.patch]), GossipMessage(wants: [MeshSimulation.name(1)])] {
            let bytes = try message.encoded()
            #expect(bytes.readableBytes == message.encodedSize)
            #expect(try GossipMessage(decoding: bytes) == message)
        }
    }

    @Test func goldenHeader() throws {
        let bytes = try GossipMessage(digest: [PeerDigest(name: MeshSimulation.name(1), uid: 2, version: 3)]).encoded()
        #expect(Array(bytes.readableBytesView) == [1, 1, 0, 0, 0, 1, 2, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0, 3])
    }

    @Test func everyTruncationIsMalformed() throws {
        let bytes = try Self.sample.encoded()
        for length in 0..<bytes.readableBytes {
            let error = #expect(throws: MeshError.self) { try GossipMessage(decoding: bytes.getSlice(at: 0, length: length)!) }
            #expect(error?.code == .malformedMessage)
        }
    }

    @Test func rejectsBadFields() throws {
        let good = Array(try Self.sample.encoded().readableBytesView)
        func decode(_ bytes: [UInt8]) throws { _ = try GossipMessage(decoding: ByteBuffer(bytes: bytes)) }
        var badVersion = good; badVersion[0] = 2
        var badFlags = good; badFlags[1] = 2
        var badShortID = good; badShortID[4 + 22] = 0x10       // high byte of entry 1's short ID
        var badNickname = good; badNickname[4 + 24 + 1 + 7] = 0xff  // inside "node-1-é"
        for bytes in [badVersion, badFlags, badShortID, badNickname, good + [0]] {
            let error = #expect(throws: MeshError.self) { try decode(bytes) }
            #expect(error?.code == .malformedMessage)
        }
    }

    @Test func rejectsUnsortedConnections() throws {
        var entry = Self.entry(1)
        entry.connections.reverse()
        let bytes = try GossipMessage(entries: [entry]).encoded()
        #expect(throws: MeshError.self) { try GossipMessage(decoding: bytes) }
    }

    @Test func patchesApplyOnlyToTheirBase() throws {
        let old = Self.entry(1, connections: 3, version: 4)
        var new = old
        new.version = 6
        new.connections.removeFirst()
        new.connections[0].established.toggle()
        new.connections.append(PeerConnection(peer: MeshSimulation.name(50), remoteAddress: "a", outbound: true, established: true))
        let patch = try #require(PeerEntryPatch(from: old, to: new))
        #expect(patch.removed == [old.connections[0].peer])
        #expect(patch.upserted.count == 2)
        #expect(patch.applied(to: old) == new)
        #expect(patch.applied(to: new) == nil)
        var otherIncarnation = old
        otherIncarnation.identity.uid += 1
        #expect(patch.applied(to: otherIncarnation) == nil)
        #expect(PeerEntryPatch(from: otherIncarnation, to: new) == nil)
        #expect(try GossipMessage(decoding: GossipMessage(patches: [patch]).encoded()).patches == [patch])
    }

    @Test func rejectsInconsistentPatches() throws {
        var backwards = Self.patch
        backwards.baseVersion = 5
        var both = Self.patch
        both.removed = [MeshSimulation.name(8)]
        for patch in [backwards, both] {
            let bytes = try GossipMessage(patches: [patch]).encoded()
            #expect(throws: MeshError.self) { try GossipMessage(decoding: bytes) }
        }
    }

    @Test func encoderRefusesOversizeFields() {
        var entry = Self.entry(1)
        entry.identity.nickname = String(repeating: "x", count: 256)
        let error = #expect(throws: MeshError.self) { try GossipMessage(entries: [entry]).encoded() }
        #expect(error?.code == .invalidValue)
    }

    @Test func randomInputNeverCrashes() {
        var random = SplitMix64(seed: 42)
        let valid = Array((try? Self.sample.encoded())?.readableBytesView ?? [])
        for round in 0..<20_000 {
            var bytes: [UInt8]
            if round % 2 == 0 {
                bytes = (0..<Int(random.next() % 96)).map { _ in UInt8(truncatingIfNeeded: random.next()) }
            } else {
                bytes = valid
                for _ in 0..<(1 + random.next() % 4) {
                    bytes[Int(random.next() % UInt64(bytes.count))] = UInt8(truncatingIfNeeded: random.next())
                }
            }
            if let message = try? GossipMessage(decoding: ByteBuffer(bytes: bytes)) {
                #expect((try? GossipMessage(decoding: message.encoded())) == message)
            }
        }
    }

    @Test func largeBatchesAreSplitUnderTheLimit() throws {
        // 60 entries of 4096 connections each: about 6 MiB, over the limit for one message.
        let connections = (0..<GossipMessage.maximumConnections).map {
            PeerConnection(peer: MeshSimulation.name($0 + 1000), remoteAddress: "198.51.100.1:6783", outbound: false, established: true)
        }
        let entries = (0..<60).map { PeerEntry(identity: PeerIdentity(name: MeshSimulation.name($0), nickname: "n", uid: 1), version: 1, shortID: ShortID(rawValue: 0)!, connections: connections) }
        var output = GossipOutput()
        output.add(entries, to: MeshSimulation.name(999))
        output.add(digest: [PeerDigest(name: MeshSimulation.name(1), uid: 1, version: 1)], isReply: false, to: MeshSimulation.name(999))
        let sends = output.sends
        #expect(sends.count > 1)
        #expect(sends.flatMap(\.message.entries) == entries)
        #expect(sends.last?.message.digest != nil)
        for send in sends { #expect(try send.message.encoded().readableBytes <= GossipMessage.maximumEncodedSize) }
    }

    /// A patch that claimed the local peer's name at version 2^64-1 trapped the engine (it raises
    /// its own version past any it hears of): found by Fuzz/run-mesh-gossip.sh. Versions above
    /// ``GossipMessage/maximumVersion`` are malformed now, and the engine takes the highest one.
    @Test func versionsAboveTheMaximumAreMalformedAndTheMaximumDoesNotOverflow() throws {
        let found: [UInt8] = [
            0x01, 0x0c, 0x00, 0x00, 0x00, 0x02, 0x02, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00,
            0x00, 0x00, 0x03, 0xe9, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x03, 0xff, 0xff, 0xff, 0xff,
            0xff, 0xff, 0xff, 0xff, 0x00, 0x01, 0x00, 0x01, 0x02, 0x00, 0x00, 0x00, 0x00, 0x05, 0x03, 0x0d,
            0x30, 0x34, 0x2e, 0x30, 0x2e, 0x30, 0x2e, 0x36, 0x3a, 0x36, 0x37, 0x38, 0x33, 0x00, 0x02, 0x02,
            0x00, 0x00, 0x00, 0x00, 0x02, 0x02, 0x00, 0x00, 0x00, 0x00, 0x03, 0x02, 0x00, 0x00, 0x00, 0x00,
            0x04, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x03, 0xec, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
            0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x02, 0x00, 0x04, 0x00, 0x00, 0x00, 0x00, 0x00,
            0x02, 0x02, 0x00, 0x00, 0x00, 0x00, 0x07, 0x02, 0x00, 0x00, 0x00, 0x00, 0x01,
        ]
        #expect(throws: MeshError.self) { try GossipMessage(decoding: ByteBuffer(bytes: found)) }
        let local = PeerIdentity(name: MeshSimulation.name(1), nickname: "local", uid: 1)
        var engine = GossipEngine(identity: local)
        let claim = PeerEntryPatch(name: local.name, uid: 99, baseVersion: GossipMessage.maximumVersion - 1, version: GossipMessage.maximumVersion,
                                   shortID: ShortID(rawValue: 1)!, upserted: [], removed: [])
        let bytes = try GossipMessage(patches: [claim]).encoded()
        _ = engine.receive(try GossipMessage(decoding: bytes), from: MeshSimulation.name(2))
        #expect(engine.localEntry.version == GossipMessage.maximumVersion + 1)
        var beyond = claim
        beyond.version = GossipMessage.maximumVersion + 1
        #expect(throws: MeshError.self) { try GossipMessage(decoding: GossipMessage(patches: [beyond]).encoded()) }
    }
}
