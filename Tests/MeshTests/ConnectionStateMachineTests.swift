import NIOCore
import Testing
@testable import Mesh

/// Two state machines wired back to back in memory.
struct MachinePair {
    var dialer: MeshConnectionStateMachine
    var acceptor: MeshConnectionStateMachine
    var dialerEvents: [MeshConnectionStateMachine.Action] = []
    var acceptorEvents: [MeshConnectionStateMachine.Action] = []
    let now = NIODeadline.uptimeNanoseconds(1_000_000_000)

    static func identity(_ value: UInt64) -> PeerIdentity {
        PeerIdentity(name: PeerName(rawValue: value)!, nickname: "n\(value)", uid: value * 100)
    }

    init(dialerSecret: MeshSecret?, acceptorSecret: MeshSecret?, dialerVersions: ClosedRange<UInt8> = 1...1,
         acceptorVersions: ClosedRange<UInt8> = 1...1, acceptorName: UInt64 = 2, heartbeatTimeout: TimeAmount = .seconds(90)) {
        dialer = MeshConnectionStateMachine(configuration: .init(
            identity: Self.identity(1), secret: dialerSecret, role: .dialer, versions: dialerVersions, heartbeatTimeout: heartbeatTimeout))
        acceptor = MeshConnectionStateMachine(configuration: .init(
            identity: Self.identity(acceptorName), secret: acceptorSecret, role: .acceptor, versions: acceptorVersions, heartbeatTimeout: heartbeatTimeout))
    }

    /// Runs the handshake until nothing is left to deliver.
    mutating func run() {
        var toAcceptor = sends(dialer.start())
        var toDialer = sends(acceptor.start())
        while !toAcceptor.isEmpty || !toDialer.isEmpty {
            var next: [[UInt8]] = []
            for frame in toAcceptor {
                let actions = acceptor.receive(frame, now: now)
                acceptorEvents += actions
                next += sends(actions)
            }
            toAcceptor = []
            for frame in toDialer {
                let actions = dialer.receive(frame, now: now)
                dialerEvents += actions
                toAcceptor += sends(actions)
            }
            toDialer = next
        }
    }

    func sends(_ actions: [MeshConnectionStateMachine.Action]) -> [[UInt8]] {
        actions.compactMap { if case .send(let body) = $0 { body } else { nil } }
    }

    static func closeReason(_ actions: [MeshConnectionStateMachine.Action]) -> MeshCloseReason? {
        actions.lazy.compactMap { if case .close(let reason) = $0 { reason } else { nil } }.first
    }

    static func established(_ actions: [MeshConnectionStateMachine.Action]) -> MeshConnectionStateMachine.Established? {
        actions.lazy.compactMap { if case .established(let info) = $0 { info } else { nil } }.first
    }
}

@Suite struct ConnectionStateMachineTests {
    let secret = MeshSecret.generate()

    @Test func establishesEncryptedAndCarriesGossip() throws {
        var pair = MachinePair(dialerSecret: secret, acceptorSecret: secret)
        pair.run()
        let dialerSide = try #require(MachinePair.established(pair.dialerEvents))
        let acceptorSide = try #require(MachinePair.established(pair.acceptorEvents))
        #expect(dialerSide.encrypted && acceptorSide.encrypted)
        #expect(dialerSide.peer == MachinePair.identity(2))
        #expect(acceptorSide.peer == MachinePair.identity(1))
        #expect(dialerSide.version == 1)
        let sent = pair.sends(pair.dialer.sendGossip(channel: "topology", payload: [9, 8, 7], now: pair.now))
        #expect(sent.count == 1 && sent[0].count == 1 + 1 + 8 + 3 + SealedRecord.overhead)
        let delivered = pair.acceptor.receive(sent[0], now: pair.now)
        guard case .deliver(let channel, let payload) = delivered.first else { Issue.record("not delivered"); return }
        #expect(channel == "topology" && payload == [9, 8, 7])
        // The same record again is a replay: dropped, connection kept.
        guard case .dropped(.replayed) = pair.acceptor.receive(sent[0], now: pair.now).first else { Issue.record("replay accepted"); return }
        var tampered = pair.sends(pair.dialer.sendGossip(channel: "x", payload: [1], now: pair.now))[0]
        tampered[tampered.count - 1] ^= 1
        guard case .dropped(.tampered) = pair.acceptor.receive(tampered, now: pair.now).first else { Issue.record("tampering accepted"); return }
        #expect(pair.acceptor.state == .established)
    }

    @Test func establishesUnencryptedWithoutSecrets() throws {
        var pair = MachinePair(dialerSecret: nil, acceptorSecret: nil)
        pair.run()
        let info = try #require(MachinePair.established(pair.dialerEvents))
        #expect(!info.encrypted && info.keys == nil)
        #expect(pair.acceptor.state == .established)
    }

    @Test func wrongSecretIsRefusedOnBothSides() throws {
        var pair = MachinePair(dialerSecret: secret, acceptorSecret: MeshSecret.generate())
        pair.run()
        let acceptorReason = try #require(MachinePair.closeReason(pair.acceptorEvents))
        let dialerReason = try #require(MachinePair.closeReason(pair.dialerEvents))
        #expect(acceptorReason.kind == .secretMismatch && !acceptorReason.byPeer)
        #expect(dialerReason.kind == .secretMismatch && dialerReason.byPeer)
        #expect(dialerReason.detail.contains("secrets differ"))
        #expect(MachinePair.established(pair.dialerEvents) == nil && MachinePair.established(pair.acceptorEvents) == nil)
    }

    @Test func oneSidedSecretIsRefusedOnBothSides() throws {
        for (dialerSecret, acceptorSecret) in [(secret, nil), (nil, secret)] as [(MeshSecret?, MeshSecret?)] {
            var pair = MachinePair(dialerSecret: dialerSecret, acceptorSecret: acceptorSecret)
            pair.run()
            let dialerReason = try #require(MachinePair.closeReason(pair.dialerEvents))
            let acceptorReason = try #require(MachinePair.closeReason(pair.acceptorEvents))
            #expect(dialerReason.kind == .secretOneSided && acceptorReason.kind == .secretOneSided)
            #expect(dialerReason.detail.contains("has none"))
        }
    }

    @Test func noCommonVersionIsRefused() throws {
        var pair = MachinePair(dialerSecret: nil, acceptorSecret: nil, dialerVersions: 1...1, acceptorVersions: 2...3)
        pair.run()
        let reason = try #require(MachinePair.closeReason(pair.dialerEvents))
        #expect(reason.kind == .noCommonVersion)
        #expect(reason.detail.contains("2...3"))
        #expect(MachinePair.closeReason(pair.acceptorEvents)?.kind == .noCommonVersion)
    }

    @Test func connectionToSelfIsRefused() {
        var pair = MachinePair(dialerSecret: nil, acceptorSecret: nil, acceptorName: 1)
        pair.run()
        #expect(MachinePair.closeReason(pair.dialerEvents)?.kind == .connectionToSelf)
    }

    @Test func timersCloseStalledAndSilentConnections() {
        var stalled = MeshConnectionStateMachine(configuration: .init(identity: MachinePair.identity(1), secret: nil, role: .acceptor))
        _ = stalled.start()
        #expect(MachinePair.closeReason(stalled.handshakeTimedOut(after: .seconds(10)))?.kind == .handshakeTimeout)
        var pair = MachinePair(dialerSecret: secret, acceptorSecret: secret, heartbeatTimeout: .seconds(3))
        pair.run()
        let beat = pair.dialer.heartbeatTick(now: pair.now + .seconds(1))
        #expect(pair.sends(beat).count == 1)
        #expect(pair.acceptor.receive(pair.sends(beat)[0], now: pair.now + .seconds(2)).isEmpty)
        #expect(pair.sends(pair.acceptor.heartbeatTick(now: pair.now + .seconds(4))).count == 1)  // heard 2 s ago
        let silent = pair.acceptor.heartbeatTick(now: pair.now + .seconds(6))
        #expect(MachinePair.closeReason(silent)?.kind == .heartbeatTimeout)
        #expect(pair.acceptor.state == .closed)
        #expect(pair.acceptor.handshakeTimedOut(after: .seconds(1)).isEmpty)
    }

    @Test func garbageDuringHandshakeIsAProtocolViolation() {
        var machine = MeshConnectionStateMachine(configuration: .init(identity: MachinePair.identity(1), secret: nil, role: .acceptor))
        _ = machine.start()
        let actions = machine.receive(Array("GET / HTTP/1.1".utf8), now: .now())
        #expect(MachinePair.closeReason(actions)?.kind == .protocolViolation)
        #expect(machine.receive([3], now: .now()).isEmpty)
    }
}
