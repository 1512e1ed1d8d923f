#if canImport(Glibc)
import Glibc
#endif
import CNISpec
import ChildProcess
import Foundation
import Namespaces
import Synchronization

/// containerd 1.6 and runc (Debian's), confined for a test: one daemon per node namespace, in a
/// private mount namespace (``ConfinedMountNamespace``), with its root, state, socket and
/// configuration (`--config`, generated) in the test's directory. Containers run with
/// `ctr run --cni`, which networks them through containerd's own CNI library (go-cni, libcni) with
/// its fixed paths; the mount namespace puts the test's files there:
///
/// - `/etc/cni/net.d` ← `DIRECTORY/cni-conf` (go-cni loads the first file, here the network's);
/// - `/opt/cni/bin` ← `DIRECTORY/opt/cni/bin` (the plugins; the rest of /opt is bound back);
/// - `/var/lib` ← `DIRECTORY/varlib` (libcni's result cache, `/var/lib/cni/results`);
/// - `/run` ← a tmpfs (the shims' sockets and runc's state, `/run/containerd`).
///
/// Containers run from a busybox root file system (`ctr run --rootfs`, no image) without
/// cgroups (`--cgroup ""`), in the foreground: ctr 1.6 runs CNI DEL only when a container it
/// started in the foreground exits (a detached one is never DELeted), so ``stop(_:)`` kills the
/// task and waits for that ctr.
///
/// ```swift
/// let containerd = try ContainerdSandbox(directory: directory, node: node, network: "net",
///                                        conflist: text, plugins: ["swift-flannel": path])
/// defer { containerd.tearDown() }
/// try containerd.start("c1", ["/bin/sleep", "300"])
/// let address = try containerd.result(of: "c1")?.ips.first?.address.address
/// ```
public final class ContainerdSandbox: Sendable {
    public let directory: String
    public let network: String
    public let mounts: ConfinedMountNamespace
    public let daemon: RunningProcess
    /// The foreground `ctr run` of every container started and not yet stopped.
    let runs = Mutex<[String: RunningProcess]>([:])
    /// Set once the daemon is reaped (its pid may then be another process's) or torn down.
    let daemonGone = Mutex(false)
    let tornDown = Mutex(false)
    /// ctr's namespace: go-cni's container ID is `NAMESPACE-NAME`.
    public static let namespace = "default"

    public var rootFileSystem: String { directory + "/rootfs" }
    public var address: String { directory + "/containerd.sock" }
    /// libcni's result cache as ctr writes it (`/var/lib/cni` in the mount namespace).
    public var resultCache: ResultCache { ResultCache(directory: directory + "/varlib/cni") }

    let environment = ["PATH": "/usr/sbin:/usr/bin:/sbin:/bin"]

    /// Prepares `directory` (the configuration, the network `network` from `conflist`, `plugins`
    /// linked into /opt/cni/bin beside the reference plugins of /usr/lib/cni, `files` written
    /// relative to `directory`, the root file system), enters the namespaces and starts
    /// containerd; throws (with its log) when it does not answer within 20 seconds.
    public init(
        directory: String, node: NetworkNamespace, network: String, conflist: String, plugins: [String: String],
        files: [String: String] = [:]
    ) throws {
        let fileManager = FileManager.default
        for sub in ["root", "state", "varlib", "cni-conf", "opt/cni/bin", "opt-containerd"] {
            try fileManager.createDirectory(atPath: directory + "/" + sub, withIntermediateDirectories: true)
        }
        try ConfinedMountNamespace.makeBusyboxRoot(at: directory + "/rootfs")
        var binaries = plugins
        for reference in (try? fileManager.contentsOfDirectory(atPath: "/usr/lib/cni")) ?? [] where binaries[reference] == nil {
            binaries[reference] = "/usr/lib/cni/" + reference
        }
        for (name, path) in binaries {
            try fileManager.createSymbolicLink(atPath: directory + "/opt/cni/bin/" + name, withDestinationPath: path)
        }
        var all = files
        all["config.toml"] = """
            version = 2
            root = "\(directory)/root"
            state = "\(directory)/state"
            disabled_plugins = ["io.containerd.grpc.v1.cri"]
            [grpc]
              address = "\(directory)/containerd.sock"
            [ttrpc]
              address = "\(directory)/containerd.sock.ttrpc"
            [plugins."io.containerd.internal.v1.opt"]
              path = "\(directory)/opt-containerd"
            """
        all["cni-conf/10-\(network).conflist"] = conflist
        for (name, text) in all {
            try text.write(toFile: directory + "/" + name, atomically: true, encoding: .utf8)
        }
        let script = """
            [ -d /etc/cni/net.d ] || { echo "/etc/cni/net.d is missing: ctr --cni reads its configuration there" >&2; exit 1; }
            mount --bind "$0/varlib" /var/lib || exit 1
            mount --bind "$0/cni-conf" /etc/cni/net.d || exit 1
            for entry in /opt/*; do
              name=${entry##*/}
              [ "$name" = cni ] || [ ! -d "$entry" ] && continue
              mkdir -p "$0/opt/$name" && mount --rbind "$entry" "$0/opt/$name" || exit 1
            done
            mount --rbind "$0/opt" /opt || exit 1
            mount -t tmpfs -o size=16m,mode=0755 swcni-run /run || exit 1
            """
        let mounts = try ConfinedMountNamespace(node: node, directory: directory, script: script)
        let daemon: RunningProcess
        do {
            daemon = try mounts.launch(
                "/usr/bin/containerd", ["--config", directory + "/config.toml"], environment: environment,
                standardError: .file(directory + "/containerd.log"))
        } catch {
            mounts.stop()
            throw error
        }
        self.directory = directory
        self.network = network
        self.mounts = mounts
        self.daemon = daemon
        var answering = false
        for _ in 0..<200 {
            if (try? ctr(["version"], timeout: 5_000))?.status == .exited(0) {
                answering = true
                break
            }
            if !daemonRunning() { break }
            usleep(100_000)
        }
        guard answering else {
            tearDown()
            throw SandboxError("containerd did not start: \(log)")
        }
    }

    /// containerd's log so far.
    public var log: String { (try? String(contentsOfFile: directory + "/containerd.log", encoding: .utf8)) ?? "" }

    /// Runs `ctr ARGS` against this containerd.
    @discardableResult
    public func ctr(_ arguments: [String], timeout: Int = 60_000) throws -> ChildProcess.Output {
        try mounts.run("/usr/bin/ctr", ["--address", address, "--namespace", Self.namespace] + arguments, environment: environment, timeoutMilliseconds: timeout)
    }

    /// Starts container `name` running `command` with `ctr run --cni` in the foreground (its
    /// output in `DIRECTORY/ctr-NAME.log`) and waits until its task runs, which ctr allows only
    /// after CNI ADD has succeeded; throws with ctr's output when it exits first.
    public func start(_ name: String, _ command: [String], timeoutSeconds: Double = 30) throws {
        let logFile = directory + "/ctr-\(name).log"
        let run = try mounts.launch(
            "/usr/bin/ctr",
            ["--address", address, "--namespace", Self.namespace, "run", "--rm", "--cni", "--cgroup", "", "--rootfs", rootFileSystem, name] + command,
            environment: environment, standardOutput: .file(logFile), standardError: .file(logFile))
        runs.withLock { $0[name] = run }
        let deadline = Date().addingTimeInterval(timeoutSeconds)
        while Date() < deadline {
            if let status = run.poll() {
                runs.withLock { _ = $0.removeValue(forKey: name) }
                throw SandboxError("ctr run \(name) exited (\(status)): \(contents(logFile))")
            }
            if try taskStatus(name) == "RUNNING" { return }
            usleep(50_000)
        }
        throw SandboxError("container \(name) is not running after \(timeoutSeconds) s: \(contents(logFile))")
    }

    /// The status column of `ctr task ls` for `name` (RUNNING, STOPPED…); nil when it has no task.
    public func taskStatus(_ name: String) throws -> String? {
        let listing = try ctr(["task", "ls"], timeout: 10_000).standardOutputText
        for line in listing.split(separator: "\n").dropFirst() {
            let columns = line.split(separator: " ", omittingEmptySubsequences: true)
            if columns.count >= 3, columns[0] == name { return String(columns[2]) }
        }
        return nil
    }

    /// Runs `command` (an absolute path in the root file system) in container `name`.
    @discardableResult
    public func exec(_ name: String, _ command: [String], timeout: Int = 30_000) throws -> ChildProcess.Output {
        try ctr(["task", "exec", "--exec-id", "exec-\(UInt32.random(in: 0...UInt32.max))", name] + command, timeout: timeout)
    }

    /// ctr's go-cni container ID for container `name`.
    public func containerID(_ name: String) -> String { Self.namespace + "-" + name }

    /// The ADD result libcni cached for container `name` on interface eth0; nil when none.
    public func result(of name: String) throws -> CNIResult? {
        guard let entry = resultCache.entries(containerID: containerID(name), network: network).first, let result = entry.result else {
            return nil
        }
        return try AnyCNIResult(result).current()
    }

    /// Kills container `name`'s task and waits until its foreground ctr has run CNI DEL and
    /// removed the container; ctr's output (where DEL's errors would be).
    @discardableResult
    public func stop(_ name: String, timeoutSeconds: Double = 30) throws -> String {
        guard let run = runs.withLock({ $0.removeValue(forKey: name) }) else { throw SandboxError("no running ctr for container \(name)") }
        let logFile = directory + "/ctr-\(name).log"
        let killed = try ctr(["task", "kill", "--signal", "SIGKILL", name], timeout: 10_000)
        let deadline = Date().addingTimeInterval(timeoutSeconds)
        while Date() < deadline {
            if run.poll() != nil { return contents(logFile) }
            usleep(50_000)
        }
        _ = run.terminate(graceMilliseconds: 1_000)
        throw SandboxError("ctr run \(name) did not exit after its task was killed (\(killed.standardErrorText)): \(contents(logFile))")
    }

    /// Stops every container (their DEL runs), removes what is left, stops containerd and
    /// every process of the mount namespace (shims, ctr), and kills any container process
    /// that outlived its shim. Safe to call more than once.
    public func tearDown() {
        guard tornDown.withLock({ done in
            defer { done = true }
            return !done
        }) else { return }
        var pending = runs.withLock { runs in
            defer { runs.removeAll() }
            return runs
        }
        if daemonRunning() {
            for name in pending.keys { _ = try? ctr(["task", "kill", "--signal", "SIGKILL", name], timeout: 10_000) }
            let deadline = Date().addingTimeInterval(15)
            while Date() < deadline, !pending.isEmpty {
                pending = pending.filter { $0.value.poll() == nil }
                usleep(50_000)
            }
            let tasks = (try? ctr(["task", "ls", "-q"], timeout: 10_000))?.standardOutputText ?? ""
            for task in tasks.split(separator: "\n") { _ = try? ctr(["task", "rm", "-f", String(task)], timeout: 10_000) }
            let containers = (try? ctr(["containers", "ls", "-q"], timeout: 10_000))?.standardOutputText ?? ""
            for container in containers.split(separator: "\n") { _ = try? ctr(["containers", "rm", String(container)], timeout: 10_000) }
        }
        for run in pending.values { _ = run.terminate(graceMilliseconds: 0) }
        if daemonRunning() { _ = daemon.terminate(graceMilliseconds: 5_000) }
        daemonGone.withLock { $0 = true }
        // A container of a shim that outlived containerd keeps running: its init's pid is in the
        // state directory, and its parent is the shim, in the mount namespace (which rules out a
        // pid reused since by another process).
        let shims = Set(mounts.processes())
        var killed: [Int32] = []
        let tasks = directory + "/state/io.containerd.runtime.v2.task"
        for namespace in (try? FileManager.default.contentsOfDirectory(atPath: tasks)) ?? [] {
            for container in (try? FileManager.default.contentsOfDirectory(atPath: "\(tasks)/\(namespace)")) ?? [] {
                if let text = try? String(contentsOfFile: "\(tasks)/\(namespace)/\(container)/init.pid", encoding: .utf8),
                    let pid = Int32(text.trimmingCharacters(in: .whitespacesAndNewlines)), pid > 1,
                    let parent = Self.parent(of: pid), shims.contains(parent)
                {
                    kill(pid, SIGKILL)
                    killed.append(pid)
                }
            }
        }
        ConfinedMountNamespace.waitUntilGone(killed, milliseconds: 5_000)
        mounts.stop()
    }

    /// Whether containerd still runs; reaps it once it has exited.
    func daemonRunning() -> Bool {
        daemonGone.withLock { gone in
            if !gone, daemon.poll() != nil { gone = true }
            return !gone
        }
    }

    static func parent(of pid: Int32) -> Int32? {
        guard let status = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8) else { return nil }
        let line = status.split(separator: "\n").first { $0.hasPrefix("PPid:") }
        return line.flatMap { Int32($0.dropFirst(5).trimmingCharacters(in: .whitespaces)) }
    }

    func contents(_ path: String) -> String { (try? String(contentsOfFile: path, encoding: .utf8)) ?? "" }
}
