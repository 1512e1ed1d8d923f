import NIOCore

/// The AS_PATH attribute (RFC 4271 §5.1.2; RFC 5065 confederation segments): segments of
/// AS numbers, always held as 4-octet values.
public struct ASPath: Hashable, Sendable, CustomStringConvertible {
    public enum SegmentKind: UInt8, Hashable, Sendable {
        case set = 1
        case sequence = 2
        case confederationSequence = 3
        case confederationSet = 4
    }

    public struct Segment: Hashable, Sendable {
        public var kind: SegmentKind
        public var asNumbers: [UInt32]
        public init(kind: SegmentKind, asNumbers: [UInt32]) {
            self.kind = kind
            self.asNumbers = asNumbers
        }
    }

    public var segments: [Segment]

    public init(segments: [Segment] = []) { self.segments = segments }

    /// A path of one AS_SEQUENCE.
    public init(sequence: [UInt32]) {
        self.segments = sequence.isEmpty ? [] : [Segment(kind: .sequence, asNumbers: sequence)]
    }

    public static let empty = ASPath()

    /// The length used by the decision process (RFC 4271 §9.1.2.2): a set counts as one,
    /// confederation segments count nothing.
    public var length: Int {
        segments.reduce(0) { total, segment in
            switch segment.kind {
            case .sequence: total + segment.asNumbers.count
            case .set: total + 1
            case .confederationSequence, .confederationSet: total
            }
        }
    }

    /// The neighbouring AS: the first AS of the first AS_SEQUENCE (for MED comparison).
    public var firstAS: UInt32? {
        segments.first.flatMap { $0.kind == .sequence ? $0.asNumbers.first : nil }
    }

    public func contains(_ asNumber: UInt32) -> Bool {
        segments.contains { $0.kind != .confederationSequence && $0.kind != .confederationSet && $0.asNumbers.contains(asNumber) }
    }

    /// The path with `asNumber` prepended to its leading AS_SEQUENCE (what an eBGP speaker does).
    public func prepending(_ asNumber: UInt32) -> ASPath {
        var copy = self
        if let first = copy.segments.first, first.kind == .sequence, first.asNumbers.count < 255 {
            copy.segments[0].asNumbers.insert(asNumber, at: 0)
        } else {
            copy.segments.insert(Segment(kind: .sequence, asNumbers: [asNumber]), at: 0)
        }
        return copy
    }

    public var description: String {
        segments.map { segment in
            let text = segment.asNumbers.map(String.init).joined(separator: " ")
            switch segment.kind {
            case .sequence: return text
            case .set: return "{\(text)}"
            case .confederationSequence: return "(\(text))"
            case .confederationSet: return "[\(text)]"
            }
        }.joined(separator: " ")
    }

    /// Whether any ASN needs 4 octets.
    var needsFourOctets: Bool { segments.contains { $0.asNumbers.contains { $0 > 0xFFFF } } }

    /// Writes the attribute value with 2- or 4-octet ASNs; ASNs above 65535 become AS_TRANS
    /// in the 2-octet form (RFC 6793 §4.2.2). Segments longer than 255 are split.
    func write(to buffer: inout ByteBuffer, fourOctet: Bool) {
        for segment in segments {
            var start = 0
            repeat {
                let chunk = segment.asNumbers[start..<min(start + 255, segment.asNumbers.count)]
                buffer.writeInteger(segment.kind.rawValue)
                buffer.writeInteger(UInt8(chunk.count))
                for asNumber in chunk {
                    if fourOctet {
                        buffer.writeInteger(asNumber)
                    } else {
                        buffer.writeInteger(asNumber > 0xFFFF ? OpenMessage.asTrans : UInt16(asNumber))
                    }
                }
                start += 255
            } while start < segment.asNumbers.count
        }
    }

    /// Reads an AS_PATH or AS4_PATH value; nil when malformed (RFC 7606 §7.2: bad segment
    /// type, zero-length segment, overrun).
    static func read(from value: inout ByteBuffer, fourOctet: Bool) -> ASPath? {
        var segments: [Segment] = []
        let size = fourOctet ? 4 : 2
        while value.readableBytes > 0 {
            guard let type = value.readInteger(as: UInt8.self), let kind = SegmentKind(rawValue: type),
                let count = value.readInteger(as: UInt8.self), count > 0, value.readableBytes >= Int(count) * size
            else { return nil }
            var numbers: [UInt32] = []
            numbers.reserveCapacity(Int(count))
            for _ in 0..<count {
                numbers.append(fourOctet ? value.readInteger(as: UInt32.self)! : UInt32(value.readInteger(as: UInt16.self)!))
            }
            segments.append(Segment(kind: kind, asNumbers: numbers))
        }
        return ASPath(segments: segments)
    }

    /// Merges an AS_PATH received from a 2-octet speaker with its AS4_PATH (RFC 6793 §4.2.3):
    /// the leading ASNs of AS_PATH that AS4_PATH does not cover, then AS4_PATH.
    func merged(withAS4Path as4Path: ASPath) -> ASPath {
        let surplus = length - as4Path.length
        guard surplus >= 0 else { return self }
        var leading: [Segment] = []
        var remaining = surplus
        for segment in segments where remaining > 0 {
            switch segment.kind {
            case .sequence:
                let take = min(remaining, segment.asNumbers.count)
                leading.append(Segment(kind: .sequence, asNumbers: Array(segment.asNumbers.prefix(take))))
                remaining -= take
            case .set:
                leading.append(segment)
                remaining -= 1
            case .confederationSequence, .confederationSet:
                leading.append(segment)
            }
        }
        return ASPath(segments: leading + as4Path.segments)
    }
}
