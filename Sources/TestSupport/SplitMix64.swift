#if canImport(Glibc)
import Glibc
#endif

/// SplitMix64: a deterministic random number generator for randomized tests, the same
/// sequence for one seed, so that a failing run replays from its seed.
public struct SplitMix64: RandomNumberGenerator, Sendable {
    public var state: UInt64

    public init(seed: UInt64) { state = seed }

    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// The seed of a randomized test: the unsigned integer in the environment variable
    /// `variable` when set (to replay a run), nil when it is set to something else, a fresh
    /// random seed when unset.
    public static func seed(from variable: String) -> UInt64? {
        guard let raw = getenv(variable) else { return UInt64.random(in: .min ... .max) }
        return UInt64(String(cString: raw))
    }
}
