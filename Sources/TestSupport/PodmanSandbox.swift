import ChildProcess
import Foundation
import Namespaces

/// podman 4.x with its CNI backend, confined for a test: it runs inside a node namespace and a
/// private mount namespace held by a `sleep` process, with the workarounds this kind of VM
/// needs: /sys/fs/cgroup/unified unmounted (crun refuses hybrid cgroups), ulimits under the
/// VM's hard limits, `--cgroups=disabled` (pass it to `run`), /var/lib bind-mounted to the
/// test's directory (libcni's fixed result cache) and a private tmpfs on /run/netns (container
/// namespaces). Containers run offline from a busybox root file system in `DIRECTORY/rootfs`.
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
    public let holder: RunningProcess

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
        for sub in ["varlib", "root", "run", "tmp", "cni-conf", "bin", "data", "rootfs/bin", "rootfs/proc", "rootfs/sys", "rootfs/dev", "rootfs/etc", "rootfs/tmp"] {
            try fileManager.createDirectory(atPath: directory + "/" + sub, withIntermediateDirectories: true)
        }
        try fileManager.copyItem(atPath: "/usr/bin/busybox", toPath: directory + "/rootfs/bin/busybox")
        for applet in ["sh", "ip", "ping", "sleep", "cat"] {
            try fileManager.createSymbolicLink(atPath: directory + "/rootfs/bin/" + applet, withDestinationPath: "busybox")
        }
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
            exec sleep 600
            """
        let holder = try node.launchProcess(
            "/usr/bin/unshare", arguments: ["--mount", "--propagation", "private", "--", "/bin/sh", "-c", script, directory])
        // Wait until the holder's mounts are in place (its /var/lib is the bind mount).
        for _ in 0..<100 {
            if let target = try? fileManager.destinationOfSymbolicLink(atPath: "/proc/\(holder.pid)/exe"), target.hasSuffix("sleep") { break }
            usleep(20_000)
        }
        self.directory = directory
        self.holder = holder
    }

    /// Runs `podman ARGS` in the holder's network and mount namespaces.
    @discardableResult
    public func podman(_ arguments: [String], timeout: Int = 60_000) throws -> ChildProcess.Output {
        try ChildProcess.run(
            "/usr/bin/nsenter", arguments: ["-t", "\(holder.pid)", "-m", "-n", "--", "/usr/bin/podman"] + arguments,
            environment: environment, timeoutMilliseconds: timeout)
    }

    /// Removes every container (their DEL runs) and stops the holder.
    public func tearDown() {
        _ = try? podman(["rm", "-fa", "-t", "0"])
        _ = holder.terminate(graceMilliseconds: 2_000)
    }
}
