import Crypto

/// Which end of a connection: the peer that dialed or the one that accepted. Keys are named by
/// role so each direction has its own key.
public enum MeshRole: String, Hashable, Sendable, Codable {
    case dialer
    case acceptor

    public var other: MeshRole { self == .dialer ? .acceptor : .dialer }
}

/// The two channels a connection protects: the TCP control connection (gossip, heartbeats)
/// and the UDP data path.
public enum MeshChannelKind: String, Hashable, Sendable, Codable {
    case control
    case data
}

/// The key schedule of one handshake (see <doc:MeshSecurity>):
///
/// ```
/// prk        = HKDF-Extract(salt: mesh secret, ikm: X25519(ephemeral, peer ephemeral))
/// transcript = SHA-256(dialer hello frame ‖ acceptor hello frame)
/// key(label) = HKDF-Expand(prk, "swift-cni mesh v1 " ‖ label ‖ 0 ‖ transcript, 32)
/// ```
///
/// with labels `confirm dialer`, `confirm acceptor`, `control dialer>acceptor`,
/// `control acceptor>dialer`, `data dialer>acceptor`, `data acceptor>dialer`. A peer without the
/// mesh secret derives different keys and fails key confirmation; an observer without the DH
/// secret learns nothing from the transcript.
public struct HandshakeKeySchedule: Sendable {
    let pseudoRandomKey: SymmetricKey
    public let transcriptHash: [UInt8]

    /// `sharedSecret` is the X25519 output (32 bytes).
    public init(sharedSecret: [UInt8], meshSecret: MeshSecret, transcript: [UInt8]) {
        let material = SymmetricKey(data: sharedSecret)
        let prk = HKDF<SHA256>.extract(inputKeyMaterial: material, salt: meshSecret.keyBytes)
        self.pseudoRandomKey = prk.withUnsafeBytes { SymmetricKey(data: $0) }
        self.transcriptHash = Array(SHA256.hash(data: transcript))
    }

    /// The key for one label.
    public func key(_ label: String) -> SymmetricKey {
        let info = Array("swift-cni mesh v1 \(label)".utf8) + [0] + transcriptHash
        return pseudoRandomKey.withUnsafeBytes { prk in
            HKDF<SHA256>.expand(pseudoRandomKey: prk, info: info, outputByteCount: 32)
        }
    }

    /// The key that protects `channel` traffic sent by `sender`.
    public func trafficKey(_ channel: MeshChannelKind, from sender: MeshRole) -> SymmetricKey {
        key("\(channel.rawValue) \(sender.rawValue)>\(sender.other.rawValue)")
    }

    /// The key-confirmation tag `role` sends: HMAC-SHA256 over the transcript hash.
    public func confirmation(by role: MeshRole) -> [UInt8] {
        Array(HMAC<SHA256>.authenticationCode(for: transcriptHash, using: key("confirm \(role.rawValue)")))
    }

    /// Checks the tag the peer (playing `role`) sent, in constant time.
    public func verifyConfirmation(_ tag: [UInt8], by role: MeshRole) -> Bool {
        HMAC<SHA256>.isValidAuthenticationCode(tag, authenticating: transcriptHash, using: key("confirm \(role.rawValue)"))
    }

    /// The four traffic keys as seen from `role`.
    public func sessionKeys(as role: MeshRole) -> SessionKeys {
        SessionKeys(
            controlSend: trafficKey(.control, from: role), controlReceive: trafficKey(.control, from: role.other),
            dataSend: trafficKey(.data, from: role), dataReceive: trafficKey(.data, from: role.other))
    }
}

/// One connection's traffic keys, one per direction and channel.
public struct SessionKeys: Sendable {
    public var controlSend: SymmetricKey
    public var controlReceive: SymmetricKey
    public var dataSend: SymmetricKey
    public var dataReceive: SymmetricKey
}

/// Rekeying: generation n+1's key is derived from generation n's, so both ends move forward
/// without a new handshake and an old key cannot be recomputed from a new one.
enum KeyRatchet {
    static func next(_ key: SymmetricKey) -> SymmetricKey {
        key.withUnsafeBytes { bytes in
            HKDF<SHA256>.expand(pseudoRandomKey: bytes, info: Array("swift-cni mesh v1 next generation".utf8), outputByteCount: 32)
        }
    }
}
