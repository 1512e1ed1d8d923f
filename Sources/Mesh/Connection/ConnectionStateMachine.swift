import Crypto
import NIOCore

/// One mesh connection from hello to close: a pure value, frames and ticks in, actions out. It
/// owns no socket or timer (the runtime performs the actions), only the handshake state and,
/// once established, the control channel's sealer and opener.
///
/// Handshake: both send ``MeshHello``. Then, if both have the mesh secret, the dialer sends its
/// key confirmation; the acceptor checks it and only then sends its own, so a peer that dials
/// us gets nothing to test password guesses against (see <doc:MeshSecurity>). Without a secret
/// on both sides the connection is established unencrypted after the hellos; a secret on one
/// side only is refused by both.
public struct MeshConnectionStateMachine: Sendable {
    public struct Configuration: Sendable {
        public var identity: PeerIdentity
        public var secret: MeshSecret?
        public var versions: ClosedRange<UInt8>
        public var role: MeshRole
        public var rekey: RekeyPolicy
        /// A connection that receives nothing for this long is closed.
        public var heartbeatTimeout: TimeAmount

        public init(
            identity: PeerIdentity, secret: MeshSecret?, role: MeshRole,
            versions: ClosedRange<UInt8> = MeshProtocolVersion.supported,
            rekey: RekeyPolicy = RekeyPolicy(), heartbeatTimeout: TimeAmount = .seconds(90)
        ) {
            self.identity = identity
            self.secret = secret
            self.versions = versions
            self.role = role
            self.rekey = rekey
            self.heartbeatTimeout = heartbeatTimeout
        }
    }

    public enum State: String, Hashable, Sendable, Codable {
        case awaitingHello
        case awaitingConfirmation
        case established
        case closed
    }

    /// What the handshake produced.
    public struct Established: Sendable {
        public var peer: PeerIdentity
        public var version: UInt8
        public var encrypted: Bool
        /// nil on an unencrypted connection.
        public var keys: SessionKeys?
    }

    public enum Action: Sendable {
        /// Write this frame body.
        case send([UInt8])
        case established(Established)
        case deliver(channel: String, payload: [UInt8])
        /// A record was dropped (counted, the connection stays).
        case dropped(RecordRejection)
        /// Close the connection (after writing the sends before it).
        case close(MeshCloseReason)
    }

    public let configuration: Configuration
    public private(set) var state: State = .awaitingHello
    public private(set) var peerHello: MeshHello?
    public private(set) var version: UInt8?
    public private(set) var closeReason: MeshCloseReason?
    private let ephemeralKey: Curve25519.KeyAgreement.PrivateKey
    private var ourHello: [UInt8] = []
    private var schedule: HandshakeKeySchedule?
    private var sealer: RecordSealer?
    private var opener: RecordOpener?
    private var lastReceived: NIODeadline = .distantPast

    public init(configuration: Configuration, ephemeralKey: Curve25519.KeyAgreement.PrivateKey = .init()) {
        self.configuration = configuration
        self.ephemeralKey = ephemeralKey
    }

    public var isEncrypted: Bool { sealer != nil }

    /// The connection opened: send our hello.
    public mutating func start() -> [Action] {
        let hello = MeshHello(
            versions: configuration.versions, identity: configuration.identity,
            hasSecret: configuration.secret != nil, ephemeralPublicKey: Array(ephemeralKey.publicKey.rawRepresentation))
        ourHello = MeshMessage.hello(hello).encoded()
        return [.send(ourHello)]
    }

    /// One frame body arrived.
    public mutating func receive(_ body: [UInt8], now: NIODeadline) -> [Action] {
        switch state {
        case .closed:
            return []
        case .established:
            return receiveEstablished(body, now: now)
        case .awaitingHello, .awaitingConfirmation:
            let message: MeshMessage
            do { message = try MeshMessage.decode(body) } catch {
                return fail(MeshCloseReason(.protocolViolation, "handshake: \(error.message)"))
            }
            if case .close(let reason) = message {
                state = .closed
                closeReason = reason
                return [.close(reason)]
            }
            if state == .awaitingHello { return receiveHello(message, body: body, now: now) }
            return receiveConfirmation(message, now: now)
        }
    }

    private mutating func receiveHello(_ message: MeshMessage, body: [UInt8], now: NIODeadline) -> [Action] {
        guard case .hello(let hello) = message else {
            return fail(MeshCloseReason(.protocolViolation, "handshake: expected hello"))
        }
        peerHello = hello
        let peer = hello.identity
        guard let version = MeshProtocolVersion.negotiate(ours: configuration.versions, theirs: hello.versions) else {
            return fail(MeshCloseReason(.noCommonVersion,
                "no common protocol version: ours \(configuration.versions), peer \(peer)'s \(hello.versions)"))
        }
        self.version = version
        guard peer.name != configuration.identity.name else {
            return fail(MeshCloseReason(.connectionToSelf, "connection to self (peer name \(peer.name))"))
        }
        switch (configuration.secret, hello.hasSecret) {
        case (nil, false):
            return establish(keys: nil, now: now)
        case (nil, true):
            return fail(MeshCloseReason(.secretOneSided,
                "peer \(peer) has a mesh secret and \(configuration.identity) has none"))
        case (.some, false):
            return fail(MeshCloseReason(.secretOneSided,
                "\(configuration.identity) has a mesh secret and peer \(peer) has none (unencrypted connection refused)"))
        case (.some(let secret), true):
            guard let publicKey = try? Curve25519.KeyAgreement.PublicKey(rawRepresentation: hello.ephemeralPublicKey),
                  let shared = try? ephemeralKey.sharedSecretFromKeyAgreement(with: publicKey)
            else { return fail(MeshCloseReason(.protocolViolation, "handshake: invalid ephemeral public key")) }
            let transcript = configuration.role == .dialer ? ourHello + body : body + ourHello
            let schedule = HandshakeKeySchedule(sharedSecret: shared.withUnsafeBytes { Array($0) }, meshSecret: secret, transcript: transcript)
            self.schedule = schedule
            state = .awaitingConfirmation
            guard configuration.role == .dialer else { return [] }
            return [.send(MeshMessage.confirm(schedule.confirmation(by: .dialer)).encoded())]
        }
    }

    private mutating func receiveConfirmation(_ message: MeshMessage, now: NIODeadline) -> [Action] {
        guard case .confirm(let tag) = message, let schedule, let peer = peerHello?.identity else {
            return fail(MeshCloseReason(.protocolViolation, "handshake: expected key confirmation"))
        }
        guard schedule.verifyConfirmation(tag, by: configuration.role.other) else {
            return fail(MeshCloseReason(.secretMismatch,
                "key confirmation between \(configuration.identity) and \(peer) failed: the mesh secrets differ"))
        }
        var actions: [Action] = []
        if configuration.role == .acceptor {
            actions.append(.send(MeshMessage.confirm(schedule.confirmation(by: .acceptor)).encoded()))
        }
        return actions + establish(keys: schedule.sessionKeys(as: configuration.role), now: now)
    }

    private mutating func establish(keys: SessionKeys?, now: NIODeadline) -> [Action] {
        state = .established
        lastReceived = now
        if let keys {
            sealer = RecordSealer(key: keys.controlSend, policy: configuration.rekey, now: now)
            opener = RecordOpener(key: keys.controlReceive, grace: configuration.rekey.grace, windowSize: 64)
        }
        schedule = nil
        let established = Established(peer: peerHello!.identity, version: version!, encrypted: keys != nil, keys: keys)
        return [.established(established)]
    }

    private mutating func receiveEstablished(_ body: [UInt8], now: NIODeadline) -> [Action] {
        var plaintext = body
        if opener != nil {
            switch opener!.open(body, now: now) {
            case .success(let opened): plaintext = opened
            case .failure(let reason): return [.dropped(reason)]
            }
        }
        let message: MeshMessage
        do { message = try MeshMessage.decode(plaintext) } catch {
            return fail(MeshCloseReason(.protocolViolation, error.message))
        }
        lastReceived = now
        switch message {
        case .heartbeat:
            return []
        case .gossip(let channel, let payload):
            return [.deliver(channel: channel, payload: payload)]
        case .close(let reason):
            state = .closed
            closeReason = reason
            return [.close(reason)]
        case .hello, .confirm:
            return fail(MeshCloseReason(.protocolViolation, "handshake message on an established connection"))
        }
    }

    /// The frame body that carries `message` now (sealed on an encrypted connection).
    private mutating func frame(_ message: MeshMessage, now: NIODeadline) -> [UInt8] {
        let plaintext = message.encoded()
        guard sealer != nil else { return plaintext }
        return sealer!.seal(plaintext, now: now)
    }

    /// Gossip to send; nothing unless established.
    public mutating func sendGossip(channel: String, payload: [UInt8], now: NIODeadline) -> [Action] {
        guard state == .established else { return [] }
        return [.send(frame(.gossip(channel: channel, payload: payload), now: now))]
    }

    /// The heartbeat timer fired: send a heartbeat, or close a peer silent for too long.
    public mutating func heartbeatTick(now: NIODeadline) -> [Action] {
        guard state == .established else { return [] }
        let silence = now - lastReceived
        if silence > configuration.heartbeatTimeout {
            return fail(MeshCloseReason(.heartbeatTimeout,
                "nothing received from \(peerHello!.identity) for \(silence.nanoseconds / 1_000_000) ms"))
        }
        return [.send(frame(.heartbeat, now: now))]
    }

    /// The handshake timer fired.
    public mutating func handshakeTimedOut(after timeout: TimeAmount) -> [Action] {
        guard state == .awaitingHello || state == .awaitingConfirmation else { return [] }
        let waiting = state == .awaitingHello ? "hello" : "key confirmation"
        return fail(MeshCloseReason(.handshakeTimeout, "handshake timed out after \(timeout.nanoseconds / 1_000_000) ms waiting for \(waiting)"))
    }

    /// Closes locally with `reason` (the peer is told).
    public mutating func close(_ reason: MeshCloseReason, now: NIODeadline = .now()) -> [Action] {
        guard state != .closed else { return [] }
        return fail(reason, now: now)
    }

    /// The transport ended without a close message.
    public mutating func transportClosed() -> [Action] {
        guard state != .closed else { return [] }
        let reason = MeshCloseReason(.connectionLost,
            state == .established ? "connection closed" : "connection closed during the handshake")
        state = .closed
        closeReason = reason
        return [.close(reason)]
    }

    private mutating func fail(_ reason: MeshCloseReason, now: NIODeadline = .now()) -> [Action] {
        let body = frame(.close(reason), now: now)
        state = .closed
        closeReason = reason
        return [.send(body), .close(reason)]
    }

    /// Seals an arbitrary gossip record for tests that tamper with or replay records.
    mutating func sealForTesting(_ message: MeshMessage) -> [UInt8] { frame(message, now: .now()) }
}
