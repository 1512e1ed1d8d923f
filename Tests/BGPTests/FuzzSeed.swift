#if canImport(Glibc)
import Glibc
#endif

/// The seed of a randomized test: `SWIFTCNI_FUZZ_SEED` when set (to replay a run), a fresh
/// random one otherwise. Tests print it before they start, so a failing or crashing run can
/// be replayed exactly.
enum FuzzSeed {
    struct InvalidSeed: Error, CustomStringConvertible {
        var text: String
        var description: String { "SWIFTCNI_FUZZ_SEED must be an unsigned 64-bit integer, got \"\(text)\"" }
    }

    static func current() throws -> UInt64 {
        guard let raw = getenv("SWIFTCNI_FUZZ_SEED") else { return UInt64.random(in: .min ... .max) }
        let text = String(cString: raw)
        guard let seed = UInt64(text) else { throw InvalidSeed(text: text) }
        return seed
    }

    /// SplitMix64: deterministic for one seed.
    struct Generator: RandomNumberGenerator {
        var state: UInt64

        init(seed: UInt64) { state = seed }

        mutating func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
    }
}
