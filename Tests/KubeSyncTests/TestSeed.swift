#if canImport(Glibc)
import Glibc
#endif

/// The seed of a randomized test: `SWIFTCNI_FUZZ_SEED` when set (to replay the operations),
/// a fresh random one otherwise; tests print it first.
enum TestSeed {
    static var current: UInt64 {
        guard let raw = getenv("SWIFTCNI_FUZZ_SEED"), let seed = UInt64(String(cString: raw)) else {
            return UInt64.random(in: .min ... .max)
        }
        return seed
    }
}

/// SplitMix64: the same sequence for one seed.
struct SeededGenerator: RandomNumberGenerator {
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
