import Crypto
import NIOCore

/// The layout of a sealed record (one TCP frame body or one UDP datagram):
///
/// ```
/// generation (UInt32 BE) ‖ sequence (UInt64 BE) ‖ ChaCha20-Poly1305 ciphertext ‖ tag (16)
/// ```
///
/// The 12-byte header is the nonce and the associated data. A sealer never repeats a
/// (generation, sequence) pair, and each generation has its own key.
public enum SealedRecord {
    public static let headerSize = 12
    public static let tagSize = 16
    public static let overhead = headerSize + tagSize

    static func header(generation: UInt32, sequence: UInt64) -> [UInt8] {
        var bytes = [UInt8]()
        bytes.reserveCapacity(headerSize)
        for shift in stride(from: 24, through: 0, by: -8) { bytes.append(UInt8(truncatingIfNeeded: generation >> UInt32(shift))) }
        for shift in stride(from: 56, through: 0, by: -8) { bytes.append(UInt8(truncatingIfNeeded: sequence >> UInt64(shift))) }
        return bytes
    }

    /// Generation and sequence of a record, nil if it is too short to be one.
    public static func parseHeader(_ record: some Collection<UInt8>) -> (generation: UInt32, sequence: UInt64)? {
        guard record.count >= overhead else { return nil }
        var generation: UInt32 = 0
        var sequence: UInt64 = 0
        for (index, byte) in record.prefix(headerSize).enumerated() {
            if index < 4 { generation = generation << 8 | UInt32(byte) } else { sequence = sequence << 8 | UInt64(byte) }
        }
        return (generation, sequence)
    }
}

/// When a sealer moves to the next key generation.
public struct RekeyPolicy: Hashable, Sendable {
    /// Records sealed with one generation before the next.
    public var afterRecords: UInt64
    /// Time one generation is used before the next (nil: never by time).
    public var afterTime: TimeAmount?
    /// How long an opener still accepts the previous generation after it saw the next.
    public var grace: TimeAmount

    public init(afterRecords: UInt64 = 1 << 24, afterTime: TimeAmount? = .minutes(10), grace: TimeAmount = .seconds(30)) {
        self.afterRecords = afterRecords
        self.afterTime = afterTime
        self.grace = grace
    }
}

/// Seals records in one direction with sequence-number nonces and rekeys by ``RekeyPolicy``.
public struct RecordSealer: Sendable {
    public private(set) var generation: UInt32 = 0
    public private(set) var sequence: UInt64 = 0
    private var key: SymmetricKey
    private var generationStarted: NIODeadline
    public let policy: RekeyPolicy

    public init(key: SymmetricKey, policy: RekeyPolicy = RekeyPolicy(), now: NIODeadline = .now()) {
        self.key = key
        self.policy = policy
        self.generationStarted = now
    }

    /// Seals `plaintext` into a record with the next sequence number (rekeying first when due).
    public mutating func seal(_ plaintext: [UInt8], now: NIODeadline = .now()) -> [UInt8] {
        if sequence >= policy.afterRecords || policy.afterTime.map({ now - generationStarted >= $0 }) == true {
            rekey(now: now)
        }
        let header = SealedRecord.header(generation: generation, sequence: sequence)
        sequence += 1
        let nonce = try! ChaChaPoly.Nonce(data: header)
        let box = try! ChaChaPoly.seal(plaintext, using: key, nonce: nonce, authenticating: header)
        // One allocation for the record (a sleeve unit is up to 64 KiB).
        var record = header
        record.reserveCapacity(SealedRecord.overhead + plaintext.count)
        record.append(contentsOf: box.ciphertext)
        record.append(contentsOf: box.tag)
        return record
    }

    /// Moves to the next key generation now.
    public mutating func rekey(now: NIODeadline = .now()) {
        key = KeyRatchet.next(key)
        generation &+= 1
        sequence = 0
        generationStarted = now
    }
}

/// Why a record was not accepted.
public enum RecordRejection: String, Error, Hashable, Sendable, Codable {
    /// Shorter than header plus tag.
    case malformed
    /// Failed authentication: tampered, or sealed with another key.
    case tampered
    /// Its sequence number was seen already, or is older than the replay window.
    case replayed
    /// A generation this opener does not hold (too old, past its grace, or too far ahead).
    case staleGeneration
}

/// Opens records from one direction: authenticates, rejects replays with a ``ReplayWindow``
/// per generation, follows the sender to the next generation and keeps the previous one for
/// the grace period of the ``RekeyPolicy`` (records sealed just before a rekey may still
/// arrive, on UDP even after newer ones).
public struct RecordOpener: Sendable {
    struct Generation: Sendable {
        var number: UInt32
        var key: SymmetricKey
        var window: ReplayWindow
    }

    private var current: Generation
    private var previous: Generation?
    private var previousExpires: NIODeadline = .distantPast
    public let grace: TimeAmount
    public let windowSize: Int

    public init(key: SymmetricKey, grace: TimeAmount = RekeyPolicy().grace, windowSize: Int = 1024) {
        self.current = Generation(number: 0, key: key, window: ReplayWindow(size: windowSize))
        self.grace = grace
        self.windowSize = windowSize
    }

    /// The newest generation seen.
    public var generation: UInt32 { current.number }

    /// Opens `record`; on success the sequence number is marked as seen.
    public mutating func open(_ record: some Collection<UInt8>, now: NIODeadline = .now()) -> Result<[UInt8], RecordRejection> {
        let bytes = Array(record)
        guard let (number, sequence) = SealedRecord.parseHeader(bytes) else { return .failure(.malformed) }
        if number == current.number {
            return Self.open(bytes, sequence: sequence, in: &current)
        }
        if number == current.number &+ 1 {
            var next = Generation(number: number, key: KeyRatchet.next(current.key), window: ReplayWindow(size: windowSize))
            let result = Self.open(bytes, sequence: sequence, in: &next)
            if case .success = result {
                previous = current
                previousExpires = now + grace
                current = next
            }
            return result
        }
        if var old = previous, number == old.number {
            guard now < previousExpires else {
                previous = nil
                return .failure(.staleGeneration)
            }
            let result = Self.open(bytes, sequence: sequence, in: &old)
            previous = old
            return result
        }
        return .failure(.staleGeneration)
    }

    private static func open(_ bytes: [UInt8], sequence: UInt64, in generation: inout Generation) -> Result<[UInt8], RecordRejection> {
        guard generation.window.check(sequence) == .fresh else { return .failure(.replayed) }
        let header = bytes[..<SealedRecord.headerSize]
        let body = bytes[SealedRecord.headerSize..<(bytes.count - SealedRecord.tagSize)]
        let tag = bytes[(bytes.count - SealedRecord.tagSize)...]
        do {
            let box = try ChaChaPoly.SealedBox(nonce: ChaChaPoly.Nonce(data: header), ciphertext: body, tag: tag)
            let plaintext = try ChaChaPoly.open(box, using: generation.key, authenticating: header)
            generation.window.accept(sequence)
            return .success(Array(plaintext))
        } catch {
            return .failure(.tampered)
        }
    }
}
