#if canImport(Glibc)
import Glibc
#endif
import Testing

/// Whether privileged tests can run here, and the rule for when they cannot.
///
/// Privileged tests (namespaces, netlink, nftables) need root. Without root they are skipped
/// with a reason, except under `CI=true`, where they run and fail: CI must never go green by
/// skipping them.
public enum Privilege {
    public static var isRoot: Bool { geteuid() == 0 }
    public static var isCI: Bool { getenv("CI").map { String(cString: $0) } == "true" }

    /// Throws a clear error when not root (used by fixtures, so a CI run without root fails).
    public static func require() throws {
        guard isRoot else { throw PrivilegeError() }
    }

    public struct PrivilegeError: Error, CustomStringConvertible {
        public var description: String { "this test needs root (CAP_NET_ADMIN, CAP_SYS_ADMIN); run it as root" }
    }
}

extension Trait where Self == ConditionTrait {
    /// Marks a test that needs root: skipped with a reason when not root, run (and so failing)
    /// when not root under `CI=true`.
    public static var privileged: Self {
        .enabled(
            if: Privilege.isRoot || Privilege.isCI,
            "needs root: privileged test skipped (under CI=true it runs and fails instead)")
    }
}
