#if canImport(Glibc)
import Glibc
#endif
import Namespaces

/// Fresh, uniquely named network namespaces for one test, always removed afterwards.
///
/// ```swift
/// try await NamespaceFixture.with(count: 2) { namespaces in
///     let (node, pod) = (namespaces[0], namespaces[1])
///     ...
/// }
/// ```
/// Names are `swcni-t-<pid>-<random>-<index>`, so concurrent tests and test processes never
/// collide and a leftover is recognisable.
public enum NamespaceFixture {
    /// The prefix of every namespace a test creates.
    public static let prefix = "swcni-t-"

    /// Creates `count` namespaces (loopback up), runs `body`, and deletes them even when
    /// `body` throws.
    public static func with<T>(
        count: Int, _ body: ([NetworkNamespace]) async throws -> T
    ) async throws -> T {
        try Privilege.require()
        let names = uniqueNames(count)
        var created: [NetworkNamespace] = []
        defer { names.forEach { try? NetworkNamespace.delete(name: $0) } }
        for name in names { created.append(try NetworkNamespace.create(name: name)) }
        return try await body(created)
    }

    /// Synchronous variant for synchronous tests.
    public static func withBlocking<T>(count: Int, _ body: ([NetworkNamespace]) throws -> T) throws -> T {
        try Privilege.require()
        let names = uniqueNames(count)
        var created: [NetworkNamespace] = []
        defer { names.forEach { try? NetworkNamespace.delete(name: $0) } }
        for name in names { created.append(try NetworkNamespace.create(name: name)) }
        return try body(created)
    }

    /// `count` names no other test uses.
    public static func uniqueNames(_ count: Int) -> [String] {
        let tag = String(UInt32.random(in: 0...UInt32.max), radix: 36)
        return (0..<count).map { "\(prefix)\(getpid())-\(tag)-\($0)" }
    }
}
