#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// The clock deadlines are measured on.
package enum MonotonicClock {
    /// Milliseconds on the monotonic clock: for deadlines, which a wall-clock step (NTP) must
    /// neither stretch nor cut short.
    package static func milliseconds() -> Int64 {
        var spec = timespec()
        clock_gettime(CLOCK_MONOTONIC, &spec)
        return Int64(spec.tv_sec) * 1000 + Int64(spec.tv_nsec) / 1_000_000
    }
}
