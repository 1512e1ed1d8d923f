import TestSupport

/// The seed of a randomized test: `SWIFTCNI_FUZZ_SEED` when set (to replay the operations),
/// a fresh random one otherwise; tests print it first.
enum TestSeed {
    static var current: UInt64 { SplitMix64.seed(from: "SWIFTCNI_FUZZ_SEED") ?? UInt64.random(in: .min ... .max) }
}
