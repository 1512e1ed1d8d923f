import Foundation
import Namespaces

/// What ``Lab/down(name:stateDirectory:)`` removed.
public struct TeardownReport: Hashable, Sendable {
    public var stoppedProcesses: Int
    public var deletedNamespaces: [String]
    public var removedStateDirectory: Bool
}

extension Lab {
    /// Removes everything of lab `name`: processes (by recorded pid, checked against
    /// `/proc/PID/comm`, then any process left inside the lab's namespaces), every namespace
    /// named with the lab's prefix, and the state directory. Works after a crash, with a
    /// missing or unreadable state file, and when nothing is left (then it does nothing).
    @discardableResult
    public static func down(name: String = "default", stateDirectory: String? = nil) throws -> TeardownReport {
        try down(name: name, stateDirectory: stateDirectory, lockHeld: false)
    }

    /// Removes everything of this lab (see ``down(name:stateDirectory:)``); the lab is unusable afterwards.
    @discardableResult
    public func down() throws -> TeardownReport {
        try Self.down(name: name, stateDirectory: stateDirectory, lockHeld: true)
    }

    static func down(name: String, stateDirectory: String?, lockHeld: Bool) throws -> TeardownReport {
        try LabNames.validateLab(name)
        let directory = stateDirectory ?? LabConfiguration.defaultStateDirectory(lab: name)
        let exists = FileManager.default.fileExists(atPath: directory)
        let lock = exists && !lockHeld ? try LabLock(path: directory + "/lock") : nil
        var stopped = 0
        var processes = ProcessSupervisor.pidFiles(under: directory)
        if let state = try? LabState.load(from: directory + "/state.json") {
            processes += state.processes + state.nodes.compactMap(\.agent) + state.pods.compactMap(\.server)
        }
        var seen = Set<Int32>()
        for process in processes where seen.insert(process.pid).inserted {
            if ProcessSupervisor.stop(process, graceMilliseconds: 2_000) { stopped += 1 }
        }
        let namespaces = NetworkNamespace.list().filter { LabNames.belongs($0, to: name) }
        // Pods first, then nodes, then the fabric.
        let ordered = namespaces.sorted { rank($0) < rank($1) }
        for namespaceName in ordered {
            if let namespace = try? NetworkNamespace.open(name: namespaceName) {
                stopped += ProcessSupervisor.processes(inNamespaceWithInode: namespace.inode).count
                ProcessSupervisor.killAll(in: namespace)
            }
            do { try NetworkNamespace.delete(name: namespaceName) } catch {
                throw LabError(.kernel, "cannot delete namespace \(namespaceName)", underlying: error)
            }
        }
        var removed = false
        if exists {
            do {
                try FileManager.default.removeItem(atPath: directory)
                removed = true
            } catch {
                throw LabError(.state, "cannot remove \(directory)", underlying: error)
            }
        }
        _ = lock
        return TeardownReport(stoppedProcesses: stopped, deletedNamespaces: ordered, removedStateDirectory: removed)
    }

    private static func rank(_ namespace: String) -> Int {
        if namespace.hasSuffix("fabric") || namespace.hasSuffix("router") { return 2 }
        return namespace.split(separator: "-").last?.first == "p" ? 0 : 1
    }

    /// Removes everything of this lab (used when `up` fails halfway).
    func removeEverything() throws {
        _ = try Self.down(name: name, stateDirectory: stateDirectory, lockHeld: true)
    }
}
