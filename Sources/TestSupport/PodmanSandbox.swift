import ChildProcess
import Foundation
import Namespaces

/// podman 4.x with its CNI backend, confined for a test: it runs inside a node namespace and a
/// private mount namespace held by a `sleep` process, with the workarounds this kind of VM
/// needs: /sys/fs/cgroup/unified unmounted (crun refuses hybrid cgroups), ulimits under the
/// VM's hard limits, `--cgroups=disabled` (pass it to `run`), /var/lib bind-mounted to the
/// test's directory (libcni's fixed result cache), a private tmpfs on /run/netns (container
/// namespaces) and one on /dev/shm (podman keeps its lock segment `libpod_lock` there: without
/// it, sandboxes running at once share one, and podman writes into the machine's /dev/shm). Containers run offline from a busybox root file system in `DIRECTORY/rootfs`.
///
/// ```swift
/// let podman = try PodmanSandbox(directory: directory, node: node, network: "net",
///                                conflist: text, plugins: ["swift-ptp": path])
/// defer { podman.tearDown() }
/// try podman.podman(["run", "-d", "--cgroups=disabled", "--name", "c1", "--network", "net",
///                    "--rootfs", podman.rootFileSystem, "/bin/sleep", "300"])
/// ```
public struct PodmanSandbox: Sendable {
    public let directory: String
    /// The private mount namespace podman runs in (``ConfinedMountNamespace``).
    public let mounts: ConfinedMountNamespace
    public var holder: RunningProcess { mounts.holder }

    /// The busybox root file system for `podman run --rootfs`.
    public var rootFileSystem: String { directory + "/rootfs" }

    var environment: [String: String] {
        [
            "CONTAINERS_CONF": directory + "/containers.conf", "CONTAINERS_STORAGE_CONF": directory + "/storage.conf",
            "PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "HOME": directory,
        ]
    }

    /// Prepares `directory` (podman's configuration and storage, the root file system, the
    /// network `network` from `conflist`, `plugins` linked into the first plugin directory
    /// before /usr/lib/cni, `files` written relative to `directory`) and starts the holder.
    public init(
        directory: String, node: NetworkNamespace, network: String, conflist: String, plugins: [String: String],
        files: [String: String] = [:]
    ) throws {
        let fileManager = FileManager.default
        for sub in ["varlib", "root", "run", "tmp", "cni-conf", "bin", "data"] {
            try fileManager.createDirectory(atPath: directory + "/" + sub, withIntermediateDirectories: true)
        }
        try ConfinedMountNamespace.makeBusyboxRoot(at: directory + "/rootfs", applets: ["sh", "ip", "ping", "sleep", "cat"])
        for (name, path) in plugins {
            try fileManager.createSymbolicLink(atPath: directory + "/bin/" + name, withDestinationPath: path)
        }
        var all = files
        all["containers.conf"] = """
            [containers]
            netns = "bridge"
            log_driver = "k8s-file"
            default_ulimits = ["nofile=20000:20000", "nproc=4096:4096"]
            [engine]
            cgroup_manager = "cgroupfs"
            events_logger = "file"
            events_logfile_path = "\(directory)/tmp/events.log"
            runtime = "crun"
            tmp_dir = "\(directory)/tmp"
            static_dir = "\(directory)/root/libpod"
            volume_path = "\(directory)/root/volumes"
            [network]
            network_backend = "cni"
            cni_plugin_dirs = ["\(directory)/bin", "/usr/lib/cni"]
            network_config_dir = "\(directory)/cni-conf"
            default_network = "\(network)"
            """
        all["storage.conf"] = """
            [storage]
            driver = "overlay"
            runroot = "\(directory)/run"
            graphroot = "\(directory)/root"
            """
        all["cni-conf/\(network).conflist"] = conflist
        for (name, text) in all {
            try text.write(toFile: directory + "/" + name, atomically: true, encoding: .utf8)
        }
        let script = """
            umount /sys/fs/cgroup/unified 2>/dev/null
            mount --bind "$0/varlib" /var/lib || exit 1
            mount -t tmpfs -o size=1m swcni-netns /run/netns || exit 1
            mount -t tmpfs -o size=16m swcni-shm /dev/shm || exit 1
            """
        mounts = try ConfinedMountNamespace(node: node, directory: directory, script: script)
        self.directory = directory
    }

    /// Runs `podman ARGS` in the holder's network and mount namespaces.
    @discardableResult
    public func podman(_ arguments: [String], timeout: Int = 60_000) throws -> ChildProcess.Output {
        try mounts.run("/usr/bin/podman", arguments, environment: environment, timeoutMilliseconds: timeout)
    }

    /// Removes every container (their DEL runs) and stops the holder.
    public func tearDown() {
        _ = try? podman(["rm", "-fa", "-t", "0"])
        mounts.stop()
    }
}
