#if canImport(Glibc)
import Glibc
#endif
import Foundation
import Namespaces

/// Directories tests use: the built products next to the test bundle, and scratch directories.
public enum TestDirectories {
    /// Where `swift build` put the package's products (the directory of the running test
    /// bundle): plugin and agent executables are found there.
    public static var products: String {
        let executable = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
        return (executable as NSString).deletingLastPathComponent
    }

    /// A new, empty directory `/tmp/<prefix>XXXXXX` (mkdtemp); remove it with ``remove(_:)``.
    public static func temporary(prefix: String) throws -> String {
        var template = Array("/tmp/\(prefix)XXXXXX".utf8CString)
        let created = template.withUnsafeMutableBufferPointer { mkdtemp($0.baseAddress!) }
        guard created != nil else { throw TemporaryDirectoryError(errno: errno) }
        return String(cString: template.withUnsafeBufferPointer { $0.baseAddress! })
    }

    /// A new temporary directory `/tmp/<prefix>XXXXXX` for `body`, removed afterwards (also when
    /// `body` throws).
    public static func withTemporary<T>(prefix: String, _ body: (String) async throws -> T) async throws -> T {
        let path = try temporary(prefix: prefix)
        defer { remove(path) }
        return try await body(path)
    }

    /// Removes `path` and everything under it; a missing path is fine.
    public static func remove(_ path: String) {
        try? FileManager.default.removeItem(atPath: path)
    }

    public struct TemporaryDirectoryError: Error, CustomStringConvertible {
        public var errno: Int32
        public var description: String { "mkdtemp failed: errno \(errno)" }
    }
}

extension NetworkNamespace {
    /// `ip ARGUMENTS…` (iproute2) inside this namespace; its standard output.
    @discardableResult
    public func ip(_ arguments: [String]) throws -> String {
        let output = try runProcess("/usr/sbin/ip", arguments: arguments, timeoutMilliseconds: 5_000)
        return String(decoding: output.standardOutput, as: UTF8.self)
    }

    /// One ping from inside this namespace; true when answered within `waitSeconds`.
    public func ping(_ address: some CustomStringConvertible, waitSeconds: Int = 1) throws -> Bool {
        let output = try runProcess(
            "/usr/bin/ping", arguments: ["-c", "1", "-W", String(waitSeconds), address.description],
            timeoutMilliseconds: waitSeconds * 5_000)
        return output.status == .exited(0)
    }
}

/// Polls `condition` every 100 ms until it holds or `seconds` pass; its last answer.
public func eventually(within seconds: Double, _ condition: () throws -> Bool) async rethrows -> Bool {
    let deadline = ContinuousClock.now + .milliseconds(Int(seconds * 1000))
    while ContinuousClock.now < deadline {
        if try condition() { return true }
        try? await Task.sleep(for: .milliseconds(100))
    }
    return try condition()
}
