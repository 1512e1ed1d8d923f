import Foundation
import Lab
import LabProfiles
import Mesh

/// Which profiles `compare` measures, by plugin name: flannel (vxlan), calico (standard
/// timers), canal, weave, and weave with a mesh secret (`weave-encrypted`, its secret file
/// written into the run's own directory by ``prepareSecret(for:in:)`` before its lab comes up).
public enum ComparisonPlan {
    /// The secret file name of the `weave-encrypted` column: a name, not a path, until
    /// ``prepareSecret(for:in:)`` writes a fresh secret into the run's own directory.
    public static let weaveSecretFileName = "weave.secret"

    public static var entries: [(name: String, profile: any LabProfile)] {
        [("flannel", FlannelProfile(backend: .vxlan)), ("calico", CalicoProfile(.standard)), ("canal", CanalProfile()),
         ("weave", WeaveProfile()), ("weave-encrypted", WeaveProfile(secretFile: weaveSecretFileName))]
    }

    public static var profiles: [any LabProfile] { entries.map(\.profile) }

    /// `flannel`, `calico`, `canal`, `weave`, `weave-encrypted`.
    public static var availableNames: [String] { entries.map(\.name) }

    public static func profile(named name: String) -> (any LabProfile)? { entries.first { $0.name == name }?.profile }

    /// The column of `profile` in the table: its name, `weave-encrypted` for weave with a secret.
    public static func columnName(of profile: any LabProfile) -> String {
        if let weave = profile as? WeaveProfile, weave.secretFile != nil { return "weave-encrypted" }
        return profile.name
    }

    /// For a weave profile that names a secret: writes a fresh mesh secret (`swift-weaved
    /// generate-secret`'s format, through the Mesh library) into `directory`, the run's own
    /// (see ``RunDirectory``), and returns the profile pointing at it; any other profile as is.
    public static func prepareSecret(for profile: any LabProfile, in directory: String) throws -> any LabProfile {
        guard var weave = profile as? WeaveProfile, let name = weave.secretFile else { return profile }
        let path = directory + "/" + (name.split(separator: "/").last.map(String.init) ?? weaveSecretFileName)
        try? FileManager.default.removeItem(atPath: path)
        _ = try MeshSecret.generateFile(atPath: path)
        weave.secretFile = path
        return weave
    }

    /// The profiles of a `--plugins` list (comma-separated; nil: every available one).
    public static func profiles(named list: String?) throws -> [any LabProfile] {
        let names = list.map { $0.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) } } ?? availableNames
        let profiles = try names.map { name in
            guard let profile = profile(named: name) else {
                throw LabError(.notAvailable, "compare: no lab profile '\(name)' (available: \(availableNames.joined(separator: ", ")))")
            }
            return profile
        }
        guard !profiles.isEmpty else { throw LabError(.invalidArgument, "compare needs at least one plugin") }
        return profiles
    }
}

/// How long and how much each measurement runs.
public struct ComparisonSettings: Sendable {
    /// Pods added (and timed) before the others are measured; the first two stay (node 0, node 1).
    public var pods: Int
    public var iperfSeconds: Int
    public var pings: Int
    /// How long to wait for the deny policy to be enforced, and for a joined node to converge.
    public var policyTimeoutMilliseconds: Int
    public var convergenceTimeoutMilliseconds: Int
    /// How many of the representative netpol cases run (nil: all of them).
    public var netpolCaseLimit: Int?

    public init(
        pods: Int, iperfSeconds: Int, pings: Int, policyTimeoutMilliseconds: Int, convergenceTimeoutMilliseconds: Int,
        netpolCaseLimit: Int?
    ) {
        self.pods = pods
        self.iperfSeconds = iperfSeconds
        self.pings = pings
        self.policyTimeoutMilliseconds = policyTimeoutMilliseconds
        self.convergenceTimeoutMilliseconds = convergenceTimeoutMilliseconds
        self.netpolCaseLimit = netpolCaseLimit
    }

    public static let standard = ComparisonSettings(
        pods: 8, iperfSeconds: 3, pings: 20, policyTimeoutMilliseconds: 8_000, convergenceTimeoutMilliseconds: 40_000,
        netpolCaseLimit: nil)
    public static let quick = ComparisonSettings(
        pods: 4, iperfSeconds: 1, pings: 5, policyTimeoutMilliseconds: 5_000, convergenceTimeoutMilliseconds: 25_000,
        netpolCaseLimit: 2)
}

/// A measurement run's own temporary directory (`/tmp/<prefix>XXXXXX`, mkdtemp): secrets, keys
/// and configuration files of one run, never shared with a concurrent run; the run removes it.
public enum RunDirectory {
    public static func make(prefix: String) throws -> String {
        var template = Array("/tmp/\(prefix)XXXXXX".utf8CString)
        guard template.withUnsafeMutableBufferPointer({ mkdtemp($0.baseAddress!) }) != nil else {
            throw LabError(.process, "mkdtemp /tmp/\(prefix)XXXXXX failed: errno \(errno)")
        }
        return String(cString: template.withUnsafeBufferPointer { $0.baseAddress! })
    }

    /// Removes the directory and everything in it (a missing one is fine).
    public static func remove(_ path: String) { try? FileManager.default.removeItem(atPath: path) }
}
