import Foundation
import Lab
import LabProfiles
import Namespaces
import TestSupport

/// Unique lab names and temporary state directories for the tests.
enum LabTestSupport {
    static func uniqueLabName() -> String { "t\(UInt32.random(in: 0...UInt32.max) % 1_000_000_000)" }

    static func temporaryDirectory() throws -> String {
        let path = NSTemporaryDirectory() + "cnilab-test-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }

    /// The namespaces of lab `name` that exist.
    static func namespaces(of lab: String) -> [String] {
        NetworkNamespace.list().filter { $0.hasPrefix("cnilab-\(lab)-") }
    }

    /// Whether process `pid` is alive (not a zombie).
    static func isAlive(_ pid: Int32) -> Bool {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
            let close = stat.lastIndex(of: ")")
        else { return false }
        return stat[stat.index(close, offsetBy: 2)] != "Z"
    }

    /// The stand-in agent of the reference profile: a process to start, stop and kill.
    static let standInAgent = AgentCommand(executable: "/usr/bin/sleep", arguments: ["3600"])

    /// The directory of the package's built products (where the test bundle runs from).
    static var productsDirectory: String { TestDirectories.products }
}
