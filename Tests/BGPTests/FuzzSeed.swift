#if canImport(Glibc)
import Glibc
#endif
import TestSupport

/// The seed of a randomized test: `SWIFTCNI_FUZZ_SEED` when set (to replay a run), a fresh
/// random one otherwise. Tests print it before they start, so a failing or crashing run can
/// be replayed exactly.
enum FuzzSeed {
    struct InvalidSeed: Error, CustomStringConvertible {
        var text: String
        var description: String { "SWIFTCNI_FUZZ_SEED must be an unsigned 64-bit integer, got \"\(text)\"" }
    }

    static func current() throws -> UInt64 {
        guard let seed = SplitMix64.seed(from: "SWIFTCNI_FUZZ_SEED") else {
            throw InvalidSeed(text: getenv("SWIFTCNI_FUZZ_SEED").map { String(cString: $0) } ?? "")
        }
        return seed
    }

    typealias Generator = SplitMix64
}
