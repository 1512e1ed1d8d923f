#if canImport(Glibc)
import Glibc
#endif
import ChildProcess
import Foundation
import Namespaces
import Synchronization

/// A private mount namespace inside a node network namespace, held open by a `sleep` process:
/// the confinement ``PodmanSandbox`` and ``ContainerdSandbox`` share. A set-up script run by
/// `/bin/sh` (its `$0` is the test's directory) mounts what the runtime needs over the machine's
/// paths (bind mounts from the directory, tmpfs); they exist only in this namespace and vanish
/// with its last process. Commands run in both namespaces through `nsenter`.
public final class ConfinedMountNamespace: Sendable {
    public let directory: String
    public let holder: RunningProcess
    /// Set by ``stop()``: the holder is reaped, so its pid may belong to someone else.
    let stopped = Mutex(false)

    /// Runs `script` in a new private mount namespace in `node`, then holds it open for
    /// `lifetimeSeconds` at most. Throws, with the script's error output, when it fails.
    public init(node: NetworkNamespace, directory: String, script: String, lifetimeSeconds: Int = 600) throws {
        let log = directory + "/holder.log"
        let holder = try node.launchProcess(
            "/usr/bin/unshare",
            arguments: ["--mount", "--propagation", "private", "--", "/bin/sh", "-c", script + "\nexec sleep \(lifetimeSeconds)", directory],
            standardError: .file(log))
        // Ready once the script has exec'd sleep (every mount is in place).
        var ready = false
        for _ in 0..<250 {
            if let target = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/\(holder.pid)/exe"), target.hasSuffix("sleep") {
                ready = true
                break
            }
            if holder.poll() != nil { break }
            usleep(20_000)
        }
        guard ready else {
            _ = holder.terminate(graceMilliseconds: 0)
            throw SandboxError("the mount namespace set-up failed: \((try? String(contentsOfFile: log, encoding: .utf8)) ?? "")")
        }
        self.directory = directory
        self.holder = holder
    }

    /// `nsenter` arguments entering the holder's mount and network namespaces, then `executable`.
    func enter(_ executable: String, _ arguments: [String]) -> [String] {
        ["-t", "\(holder.pid)", "-m", "-n", "--", executable] + arguments
    }

    /// Runs `executable ARGUMENTS` inside the namespaces to completion.
    @discardableResult
    public func run(
        _ executable: String, _ arguments: [String], environment: [String: String], timeoutMilliseconds: Int = 60_000
    ) throws -> ChildProcess.Output {
        try ChildProcess.run("/usr/bin/nsenter", arguments: enter(executable, arguments), environment: environment, timeoutMilliseconds: timeoutMilliseconds)
    }

    /// Starts `executable ARGUMENTS` inside the namespaces and returns at once (nsenter execs it:
    /// the pid is the program's).
    public func launch(
        _ executable: String, _ arguments: [String], environment: [String: String], standardOutput: ChildProcess.Redirect = .null,
        standardError: ChildProcess.Redirect = .null
    ) throws -> RunningProcess {
        try ChildProcess.launch(
            "/usr/bin/nsenter", arguments: enter(executable, arguments), environment: environment,
            standardOutput: standardOutput, standardError: standardError)
    }

    /// Every process in the mount namespace except the holder (daemons, their children, shims).
    public func processes() -> [Int32] {
        guard let own = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/\(holder.pid)/ns/mnt") else { return [] }
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
        return entries.compactMap(Int32.init).filter { pid in
            pid != holder.pid && (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/\(pid)/ns/mnt")) == own
        }
    }

    /// SIGKILLs every process left in the mount namespace and waits (5 s at most) until they are
    /// gone, then ends the holder: the namespace and its mounts go with it. Only the first call
    /// acts (the holder's pid is free once it is reaped).
    public func stop() {
        guard stopped.withLock({ stopped in
            defer { stopped = true }
            return !stopped
        }) else { return }
        let remaining = processes()
        for pid in remaining { kill(pid, SIGKILL) }
        Self.waitUntilGone(remaining, milliseconds: 5_000)
        _ = holder.terminate(graceMilliseconds: 2_000)
    }

    /// Whether `pid` runs (a zombie, dead but not yet reaped by its parent, does not).
    public static func isRunning(_ pid: Int32) -> Bool {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8) else { return false }
        return stat.split(separator: ")").last?.split(separator: " ").first.map { $0 != "Z" && $0 != "X" } ?? false
    }

    /// Waits until none of `pids` runs, `milliseconds` at most.
    public static func waitUntilGone(_ pids: [Int32], milliseconds: Int) {
        var waited = 0
        while waited < milliseconds, pids.contains(where: isRunning) {
            usleep(20_000)
            waited += 20
        }
    }

    /// A busybox root file system at `path` (/bin/busybox from busybox-static, `applets` linked
    /// to it, the directories a runtime mounts over).
    public static func makeBusyboxRoot(at path: String, applets: [String] = ["sh", "ip", "ping", "sleep", "cat", "nc"]) throws {
        let fileManager = FileManager.default
        for sub in ["bin", "proc", "sys", "dev", "etc", "tmp"] {
            try fileManager.createDirectory(atPath: path + "/" + sub, withIntermediateDirectories: true)
        }
        try fileManager.copyItem(atPath: "/usr/bin/busybox", toPath: path + "/bin/busybox")
        for applet in applets {
            try fileManager.createSymbolicLink(atPath: path + "/bin/" + applet, withDestinationPath: "busybox")
        }
    }
}

/// A runtime sandbox that could not be set up, with what its tools said.
public struct SandboxError: Error, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}
