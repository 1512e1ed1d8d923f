import Crypto
import NIOConcurrencyHelpers
import NIOCore
import NetPrimitives

/// The data-path (UDP) keys of one encrypted connection: seals datagrams to the peer and opens
/// datagrams from it, with a replay window (datagrams may arrive reordered, duplicated or not
/// at all) and rekeying like the control channel.
///
/// One instance per connection, shared by reference: it owns the sequence counter, so it must
/// never be copied into two sealers. Thread-safe (a lock around each operation).
public final class MeshDataChannel: Sendable {
    public let peer: PeerIdentity
    private struct State {
        var sealer: RecordSealer
        var opener: RecordOpener
        var dropped: [RecordRejection: Int] = [:]
    }
    private let state: NIOLockedValueBox<State>

    init(peer: PeerIdentity, keys: SessionKeys, policy: RekeyPolicy) {
        self.peer = peer
        self.state = NIOLockedValueBox(State(
            sealer: RecordSealer(key: keys.dataSend, policy: policy),
            opener: RecordOpener(key: keys.dataReceive, grace: policy.grace, windowSize: 4096)))
    }

    /// Seals one datagram payload (adds ``SealedRecord/overhead`` bytes).
    public func seal(_ payload: [UInt8], now: NIODeadline = .now()) -> [UInt8] {
        state.withLockedValue { $0.sealer.seal(payload, now: now) }
    }

    /// Opens one datagram; rejected ones are counted in ``droppedCounts``.
    public func open(_ datagram: some Collection<UInt8>, now: NIODeadline = .now()) -> Result<[UInt8], RecordRejection> {
        state.withLockedValue { state in
            let result = state.opener.open(datagram, now: now)
            if case .failure(let reason) = result { state.dropped[reason, default: 0] += 1 }
            return result
        }
    }

    /// Datagrams dropped by reason.
    public var droppedCounts: [RecordRejection: Int] { state.withLockedValue { $0.dropped } }
}

/// Trusted subnets, as Weave's `--trusted-subnets`: data between two underlay addresses that
/// are both inside listed networks is sent without data-channel encryption. The control
/// connection is always authenticated (and encrypted when a secret is set) regardless.
public struct TrustedSubnets: Hashable, Sendable, Codable {
    public var networks: [IPNetwork]

    public init(_ networks: [IPNetwork] = []) { self.networks = networks }

    public func contains(_ address: IPAddress) -> Bool { networks.contains { $0.contains(address) } }

    /// Whether the data path between `local` and `remote` needs encryption: true unless both
    /// addresses are trusted (or the connection has no secret at all, see
    /// ``MeshNode/dataChannel(for:)``).
    public func requiresDataEncryption(local: IPAddress, remote: IPAddress) -> Bool {
        !(contains(local) && contains(remote))
    }
}
