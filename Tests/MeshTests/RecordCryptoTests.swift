import Crypto
import NIOCore
import Testing
@testable import Mesh

@Suite struct RecordCryptoTests {
    let key = SymmetricKey(size: .bits256)
    let start = NIODeadline.uptimeNanoseconds(1_000_000_000)

    @Test func sealsAndOpensWithSequenceNonces() throws {
        var sealer = RecordSealer(key: key, now: start)
        var opener = RecordOpener(key: key)
        for index in 0..<5 {
            let record = sealer.seal(Array("message \(index)".utf8), now: start)
            #expect(SealedRecord.parseHeader(record)! == (0, UInt64(index)))
            #expect(record.count == SealedRecord.overhead + "message \(index)".utf8.count)
            #expect(try opener.open(record, now: start).get() == Array("message \(index)".utf8))
        }
        #expect(sealer.sequence == 5)
        // Same plaintext twice: different ciphertext (different nonce).
        #expect(sealer.seal([1, 2, 3], now: start).dropFirst(12) != sealer.seal([1, 2, 3], now: start).dropFirst(12))
    }

    @Test func rejectsTamperingAnywhere() {
        var sealer = RecordSealer(key: key, now: start)
        let record = sealer.seal(Array(repeating: 9, count: 40), now: start)
        for position in [0, 5, 11, 12, 30, record.count - 1] {
            var opener = RecordOpener(key: key)
            var tampered = record
            tampered[position] ^= 0x01
            let result = opener.open(tampered, now: start)
            #expect(result == .failure(.tampered) || result == .failure(.staleGeneration), "byte \(position)")
        }
        var opener = RecordOpener(key: key)
        #expect(opener.open(record.prefix(27), now: start) == .failure(.malformed))
        var wrongKey = RecordOpener(key: SymmetricKey(size: .bits256))
        #expect(wrongKey.open(record, now: start) == .failure(.tampered))
        // A rejected forgery does not burn the sequence number.
        #expect((try? opener.open(record, now: start).get()) != nil)
    }

    @Test func replayAndReorderWindow() {
        var sealer = RecordSealer(key: key, now: start)
        var opener = RecordOpener(key: key, windowSize: 64)
        let records = (0..<100).map { _ in sealer.seal([7], now: start) }
        #expect((try? opener.open(records[10], now: start).get()) != nil)
        #expect((try? opener.open(records[3], now: start).get()) != nil)  // reordered, in window
        #expect(opener.open(records[3], now: start) == .failure(.replayed))  // only once
        #expect(opener.open(records[10], now: start) == .failure(.replayed))
        #expect((try? opener.open(records[90], now: start).get()) != nil)
        #expect(opener.open(records[20], now: start) == .failure(.replayed))  // 70 behind: too old
        #expect((try? opener.open(records[27], now: start).get()) != nil)  // 63 behind: still inside
    }

    @Test func replayWindowVerdicts() {
        var window = ReplayWindow(size: 64)
        #expect(window.check(5) == .fresh)
        window.accept(5)
        #expect(window.check(5) == .duplicate)
        #expect(window.check(4) == .fresh)
        window.accept(200)
        #expect(window.check(5) == .tooOld)
        #expect(window.check(136) == .tooOld)
        #expect(window.check(137) == .fresh)
        #expect(window.check(200) == .duplicate)
        window.accept(201)
        window.accept(199)
        #expect(window.check(199) == .duplicate)
        #expect(window.check(198) == .fresh)
        // A jump by exactly the window size forgets everything below.
        window.accept(265)
        #expect(window.check(201) == .tooOld)
        #expect(window.check(202) == .fresh)
        #expect(ReplayWindow(size: 100).size == 128)
    }

    @Test func rekeyKeepsOldGenerationForTheGraceOnly() {
        let policy = RekeyPolicy(afterRecords: 3, afterTime: nil, grace: .seconds(5))
        var sealer = RecordSealer(key: key, policy: policy, now: start)
        var opener = RecordOpener(key: key, grace: policy.grace)
        let old = (0..<3).map { _ in sealer.seal([1], now: start) }
        let new = sealer.seal([2], now: start)
        #expect(sealer.generation == 1)
        #expect(SealedRecord.parseHeader(new)! == (1, 0))
        #expect((try? opener.open(old[0], now: start).get()) == [1])
        #expect((try? opener.open(new, now: start).get()) == [2])
        #expect(opener.generation == 1)
        // A late record of generation 0 inside the grace is still accepted, once.
        #expect((try? opener.open(old[1], now: start + .seconds(4)).get()) == [1])
        #expect(opener.open(old[1], now: start + .seconds(4)) == .failure(.replayed))
        // After the grace it is not.
        #expect(opener.open(old[2], now: start + .seconds(6)) == .failure(.staleGeneration))
        // Two generations ahead is refused (the opener follows one step at a time).
        sealer.rekey(now: start)
        sealer.rekey(now: start)
        #expect(opener.open(sealer.seal([3], now: start), now: start) == .failure(.staleGeneration))
    }

    @Test func rekeysByTime() {
        var sealer = RecordSealer(key: key, policy: RekeyPolicy(afterRecords: .max, afterTime: .seconds(60)), now: start)
        _ = sealer.seal([1], now: start + .seconds(59))
        #expect(sealer.generation == 0)
        _ = sealer.seal([1], now: start + .seconds(61))
        #expect(sealer.generation == 1)
        #expect(sealer.sequence == 1)
    }

    @Test func dataChannelSealsForThePeer() throws {
        let schedule = HandshakeKeySchedule(sharedSecret: Array(repeating: 1, count: 32), meshSecret: MeshSecret.generate(), transcript: [])
        let peer = PeerIdentity(name: PeerName(rawValue: 1)!, nickname: "a", uid: 1)
        let dialer = MeshDataChannel(peer: peer, keys: schedule.sessionKeys(as: .dialer), policy: RekeyPolicy())
        let acceptor = MeshDataChannel(peer: peer, keys: schedule.sessionKeys(as: .acceptor), policy: RekeyPolicy())
        let datagram = dialer.seal([1, 2, 3])
        #expect(try acceptor.open(datagram).get() == [1, 2, 3])
        #expect(acceptor.open(datagram) == .failure(.replayed))
        #expect(dialer.open(datagram) == .failure(.tampered))  // own direction's key differs
        #expect(acceptor.droppedCounts[.replayed] == 1)
    }

    @Test func trustedSubnets() throws {
        let trusted = TrustedSubnets([try .init(parsing: "10.0.0.0/8"), try .init(parsing: "192.168.1.0/24")])
        #expect(!trusted.requiresDataEncryption(local: "10.1.2.3", remote: "192.168.1.9"))
        #expect(trusted.requiresDataEncryption(local: "10.1.2.3", remote: "172.16.0.1"))
        #expect(trusted.requiresDataEncryption(local: "172.16.0.1", remote: "10.1.2.3"))
        #expect(TrustedSubnets().requiresDataEncryption(local: "10.1.2.3", remote: "10.1.2.4"))
    }
}
