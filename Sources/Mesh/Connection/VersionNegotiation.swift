/// Protocol versions of the mesh: each side announces the range it speaks in its hello, and both
/// use the highest version in both ranges (Weave's rule for its "weave" protocol header).
public enum MeshProtocolVersion {
    /// The versions this library speaks.
    public static let supported: ClosedRange<UInt8> = 1...1

    /// The highest common version, nil when the ranges do not overlap.
    public static func negotiate(ours: ClosedRange<UInt8>, theirs: ClosedRange<UInt8>) -> UInt8? {
        let low = max(ours.lowerBound, theirs.lowerBound)
        let high = min(ours.upperBound, theirs.upperBound)
        return low <= high ? high : nil
    }
}
