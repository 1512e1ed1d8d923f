import NetPrimitives
import Testing

@testable import BGP

@Suite("Session state machine")
struct SessionStateMachineTests {
    static let local = IPv4Address(10, 0, 0, 1)
    static let remote = IPv4Address(10, 0, 0, 2)

    static func machine(passive: Bool = false, peerAS: UInt32 = 65002) -> SessionStateMachine {
        SessionStateMachine(configuration: .init(
            localAS: 65001, localIdentifier: local, peerAS: peerAS, holdTime: 9, connectRetryTime: 1,
            openHoldTime: 240, passive: passive))
    }

    static func peerOpen(as asNumber: UInt32 = 65002, hold: UInt16 = 3, identifier: IPv4Address = remote) -> BGPMessage {
        .open(OpenMessage(asNumber: asNumber, holdTime: hold, identifier: identifier, capabilities: [.multiprotocol(.ipv4Unicast)]))
    }

    /// Drives a machine through `events` and returns it.
    static func drive(_ machine: inout SessionStateMachine, _ events: [SessionEvent]) {
        for event in events { _ = machine.handle(event) }
    }

    struct Row: Sendable, CustomStringConvertible {
        var name: String
        var passive = false
        var setup: [SessionEvent]
        var event: SessionEvent
        var state: SessionState
        var actions: [SessionAction]?
        var description: String { name }
    }

    static let established: [SessionEvent] = [.start, .connectionSucceeded, .messageReceived(peerOpen()), .messageReceived(.keepalive)]

    static let rows: [Row] = [
        Row(name: "start connects", setup: [], event: .start, state: .connect,
            actions: [.startTimer(.connectRetry, seconds: 1), .connect]),
        Row(name: "passive start waits", passive: true, setup: [], event: .start, state: .active,
            actions: [.startTimer(.connectRetry, seconds: 1)]),
        Row(name: "passive retry timer only rearms", passive: true, setup: [.start], event: .timerExpired(.connectRetry),
            state: .active, actions: [.startTimer(.connectRetry, seconds: 1)]),
        Row(name: "connect retry reconnects", setup: [.start], event: .timerExpired(.connectRetry), state: .connect,
            actions: [.disconnect, .startTimer(.connectRetry, seconds: 1), .connect]),
        Row(name: "failed connect goes active", setup: [.start], event: .connectionFailed, state: .active,
            actions: [.startTimer(.connectRetry, seconds: 1)]),
        Row(name: "active retries on timer", setup: [.start, .connectionFailed], event: .timerExpired(.connectRetry),
            state: .connect, actions: [.startTimer(.connectRetry, seconds: 1), .connect]),
        Row(name: "connected sends OPEN", setup: [.start], event: .connectionSucceeded, state: .openSent,
            actions: [.stopTimer(.connectRetry), .send(.open(machine().openMessage)), .startTimer(.hold, seconds: 240)]),
        Row(name: "passive accepts", passive: true, setup: [.start], event: .connectionAccepted, state: .openSent, actions: nil),
        Row(name: "stopped idle refuses inbound", setup: [], event: .connectionAccepted, state: .idle, actions: [.disconnect]),
        Row(name: "OPEN negotiates the smaller hold time", setup: [.start, .connectionSucceeded],
            event: .messageReceived(peerOpen()), state: .openConfirm,
            actions: [.stopTimer(.connectRetry), .send(.keepalive), .startTimer(.keepalive, seconds: 1), .startTimer(.hold, seconds: 3)]),
        Row(name: "hold time zero disables timers", setup: [.start, .connectionSucceeded],
            event: .messageReceived(peerOpen(hold: 0)), state: .openConfirm,
            actions: [.stopTimer(.connectRetry), .send(.keepalive), .stopTimer(.hold)]),
        Row(name: "wrong peer AS is refused", setup: [.start, .connectionSucceeded],
            event: .messageReceived(peerOpen(as: 65009)), state: .idle,
            actions: [.send(.notification(.init(errorCode: 2, errorSubcode: 2))), .disconnect, .stopTimer(.hold),
                      .stopTimer(.keepalive), .stopTimer(.connectRetry), .startTimer(.connectRetry, seconds: 1)]),
        Row(name: "KEEPALIVE in OpenSent is an FSM error", setup: [.start, .connectionSucceeded],
            event: .messageReceived(.keepalive), state: .idle, actions: nil),
        Row(name: "OPEN hold timer expiry", setup: [.start, .connectionSucceeded], event: .timerExpired(.hold), state: .idle,
            actions: [.send(.notification(.holdTimerExpired)), .disconnect, .stopTimer(.hold), .stopTimer(.keepalive),
                      .stopTimer(.connectRetry), .startTimer(.connectRetry, seconds: 1)]),
        Row(name: "KEEPALIVE establishes", setup: [.start, .connectionSucceeded, .messageReceived(peerOpen())],
            event: .messageReceived(.keepalive), state: .established, actions: nil),
        Row(name: "keepalive timer sends", setup: established, event: .timerExpired(.keepalive), state: .established,
            actions: [.send(.keepalive), .startTimer(.keepalive, seconds: 1)]),
        Row(name: "UPDATE restarts hold and is processed", setup: established, event: .messageReceived(.update(UpdateMessage())),
            state: .established, actions: [.startTimer(.hold, seconds: 3), .processUpdate(UpdateMessage())]),
        Row(name: "route refresh resends", setup: established, event: .messageReceived(.routeRefresh(.init(family: .ipv4Unicast))),
            state: .established, actions: [.resendRoutes(.ipv4Unicast)]),
        Row(name: "connection loss is reported for graceful restart", setup: established, event: .connectionFailed, state: .idle,
            actions: [.disconnect, .stopTimer(.hold), .stopTimer(.keepalive), .stopTimer(.connectRetry), .down(.connectionLost),
                      .startTimer(.connectRetry, seconds: 1)]),
        Row(name: "NOTIFICATION received", setup: established, event: .messageReceived(.notification(.init(errorCode: 6, errorSubcode: 2))),
            state: .idle, actions: [.disconnect, .stopTimer(.hold), .stopTimer(.keepalive), .stopTimer(.connectRetry),
                                    .down(.notificationReceived(.init(errorCode: 6, errorSubcode: 2))), .startTimer(.connectRetry, seconds: 1)]),
        Row(name: "OPEN in Established is an FSM error", setup: established, event: .messageReceived(peerOpen()), state: .idle,
            actions: [.send(.notification(.init(errorCode: 5, errorSubcode: 3))), .disconnect, .stopTimer(.hold), .stopTimer(.keepalive),
                      .stopTimer(.connectRetry), .down(.notificationSent(.init(errorCode: 5, errorSubcode: 3))),
                      .startTimer(.connectRetry, seconds: 1)]),
        Row(name: "stop sends cease and stays down", setup: established, event: .stop(.init(errorCode: 6, errorSubcode: 2)), state: .idle,
            actions: [.send(.notification(.init(errorCode: 6, errorSubcode: 2))), .disconnect, .stopTimer(.hold), .stopTimer(.keepalive),
                      .stopTimer(.connectRetry), .down(.stopped(.init(errorCode: 6, errorSubcode: 2)))]),
        Row(name: "decode error sends its notification", setup: established,
            event: .decodingFailed(BGPError.reset(3, 1, "x")), state: .idle, actions: nil),
        Row(name: "idle restarts on the retry timer", setup: established + [.connectionFailed], event: .timerExpired(.connectRetry),
            state: .connect, actions: [.startTimer(.connectRetry, seconds: 1), .connect]),
        Row(name: "stopped idle does not restart", setup: [.start, .stop(.init(errorCode: 6, errorSubcode: 2))],
            event: .timerExpired(.connectRetry), state: .idle, actions: []),
        Row(name: "second connection leaves an open session alone", setup: [.start, .connectionSucceeded],
            event: .connectionAccepted, state: .openSent, actions: []),
    ]

    @Test(arguments: rows)
    func transition(row: Row) {
        var machine = Self.machine(passive: row.passive)
        Self.drive(&machine, row.setup)
        let actions = machine.handle(row.event)
        #expect(machine.state == row.state)
        if let expected = row.actions { #expect(actions == expected) }
    }

    @Test func establishedReportsTheNegotiation() {
        var machine = Self.machine()
        Self.drive(&machine, Array(Self.established.dropLast()))
        let actions = machine.handle(.messageReceived(.keepalive))
        guard case .established(let session) = actions.last else { Issue.record("no established action"); return }
        #expect(session.holdTime == 3)
        #expect(session.keepaliveInterval == 1)
        #expect(session.fourOctetAS)
        #expect(!session.internalPeer)
        #expect(session.peerIdentifier == Self.remote)
        #expect(session.families == [.ipv4Unicast])
    }

    @Test func internalPeerWithOurIdentifierIsRefused() {
        var machine = Self.machine(peerAS: 65001)
        Self.drive(&machine, [.start, .connectionSucceeded])
        let actions = machine.handle(.messageReceived(Self.peerOpen(as: 65001, identifier: Self.local)))
        #expect(actions.first == .send(.notification(.init(errorCode: 2, errorSubcode: 3))))
        #expect(machine.state == .idle)
    }

    @Test func collisionKeepsTheHigherIdentifiersConnection() {
        #expect(SessionStateMachine.resolveCollision(localIdentifier: Self.local, remoteIdentifier: Self.remote) == .remotelyInitiated)
        #expect(SessionStateMachine.resolveCollision(localIdentifier: Self.remote, remoteIdentifier: Self.local) == .locallyInitiated)
    }
}
