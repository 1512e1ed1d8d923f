import CNISpec
import ChildProcess
import Foundation
import Namespaces
import NetPrimitives
import Testing
import TestSupport

/// podman 4.3 with its CNI backend creates containers whose network's plugin is swift-flannel.
///
/// podman runs inside a node namespace and a private mount namespace held by a `sleep`
/// process, with the workarounds this VM needs: /sys/fs/cgroup/unified unmounted (crun refuses
/// hybrid cgroups), ulimits under the VM's hard limits, `--cgroups=disabled`, /var/lib
/// bind-mounted to a temporary directory (libcni's fixed result cache) and a private tmpfs on
/// /run/netns (container namespaces). Containers run offline from a busybox rootfs directory.
/// The plugin's state (subnet.env, address store) lives in the temporary directory, which the
/// private mount namespace does not hide.
@Suite(.serialized) struct PodmanTests {
    static let network = "swcni-podnet"

    struct Environment {
        let directory: String
        let holder: RunningProcess

        var environment: [String: String] {
            [
                "CONTAINERS_CONF": directory + "/containers.conf", "CONTAINERS_STORAGE_CONF": directory + "/storage.conf",
                "PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "HOME": directory,
            ]
        }

        /// Runs `podman ARGS` in the holder's network and mount namespaces.
        @discardableResult
        func podman(_ arguments: [String], timeout: Int = 60_000) throws -> ChildProcess.Output {
            try ChildProcess.run(
                "/usr/bin/nsenter", arguments: ["-t", "\(holder.pid)", "-m", "-n", "--", "/usr/bin/podman"] + arguments,
                environment: environment, timeoutMilliseconds: timeout)
        }
    }

    static func prepare(_ directory: String, node: NetworkNamespace) throws -> Environment {
        let fileManager = FileManager.default
        for sub in ["varlib", "root", "run", "tmp", "cni-conf", "bin", "data", "rootfs/bin", "rootfs/proc", "rootfs/sys", "rootfs/dev", "rootfs/etc", "rootfs/tmp"] {
            try fileManager.createDirectory(atPath: directory + "/" + sub, withIntermediateDirectories: true)
        }
        try fileManager.copyItem(atPath: "/usr/bin/busybox", toPath: directory + "/rootfs/bin/busybox")
        for applet in ["sh", "ip", "ping", "sleep", "cat"] {
            try fileManager.createSymbolicLink(atPath: directory + "/rootfs/bin/" + applet, withDestinationPath: "busybox")
        }
        try fileManager.createSymbolicLink(atPath: directory + "/bin/swift-flannel", withDestinationPath: TestDirectories.products + "/swift-flannel")
        let files = [
            "containers.conf": """
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
                """,
            "storage.conf": """
                [storage]
                driver = "overlay"
                runroot = "\(directory)/run"
                graphroot = "\(directory)/root"
                """,
            "cni-conf/\(network).conflist": """
                {"cniVersion": "1.0.0", "name": "\(network)", "plugins": [
                  {"type": "swift-flannel", "subnetFile": "\(directory)/subnet.env", "dataDir": "\(directory)/data",
                   "delegate": {"bridge": "cni0", "hairpinMode": true, "isDefaultGateway": true}},
                  {"type": "portmap", "capabilities": {"portMappings": true}}
                ]}
                """,
            "subnet.env": "FLANNEL_NETWORK=10.244.0.0/16\nFLANNEL_SUBNET=10.244.3.1/24\nFLANNEL_MTU=1450\nFLANNEL_IPMASQ=true\n",
        ]
        for (name, text) in files {
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
        return Environment(directory: directory, holder: holder)
    }

    static func tearDown(_ environment: Environment) {
        _ = try? environment.podman(["rm", "-fa", "-t", "0"])
        _ = environment.holder.terminate(graceMilliseconds: 2_000)
    }

    @Test(.privileged) func twoContainersOnSwiftFlannelPingEachOther() async throws {
        try #require(FileManager.default.isExecutableFile(atPath: "/usr/bin/podman"), "podman is not installed")
        let directory = try TestDirectories.temporary(prefix: "swcni-flannel-")
        defer { TestDirectories.remove(directory) }
        try await NamespaceFixture.with(count: 1) { namespaces in
            let environment = try Self.prepare(directory, node: namespaces[0])
            defer { Self.tearDown(environment) }
            var addresses: [String] = []
            for name in ["swcni-c1", "swcni-c2"] {
                let run = try environment.podman([
                    "run", "-d", "--cgroups=disabled", "--name", name, "--network", Self.network,
                    "--rootfs", directory + "/rootfs", "/bin/sleep", "300",
                ])
                #expect(run.status == .exited(0), "podman run \(name): \(run.standardErrorText)")
                let inspect = try environment.podman([
                    "inspect", "-f", "{{(index .NetworkSettings.Networks \"\(Self.network)\").IPAddress}}", name,
                ])
                let address = inspect.standardOutputText.trimmingCharacters(in: .whitespacesAndNewlines)
                #expect(IPNetwork("10.244.3.0/24").contains(IPAddress(address) ?? IPAddress("0.0.0.0")), "\(name) got \(address)")
                let inside = try environment.podman(["exec", name, "ip", "-4", "-o", "addr", "show", "eth0"])
                #expect(inside.standardOutputText.contains(address + "/24"))
                addresses.append(address)
            }
            try #require(addresses.count == 2)
            #expect(Set(addresses).count == 2)
            // The address store is swift-flannel's, in host-local's format, outside /var/lib.
            let reserved = try FileManager.default.contentsOfDirectory(atPath: directory + "/data/" + Self.network)
            #expect(Set(reserved.filter { IPAddress($0) != nil }) == Set(addresses))
            let ping = try environment.podman(["exec", "swcni-c1", "ping", "-c", "2", "-W", "1", addresses[1]])
            #expect(ping.status == .exited(0), "ping: \(ping.standardOutputText) \(ping.standardErrorText)")
            let back = try environment.podman(["exec", "swcni-c2", "ping", "-c", "1", "-W", "1", addresses[0]])
            #expect(back.status == .exited(0))
            // podman rm runs DEL: the addresses are released.
            try environment.podman(["rm", "-f", "-t", "0", "swcni-c1", "swcni-c2"])
            let after = try FileManager.default.contentsOfDirectory(atPath: directory + "/data/" + Self.network)
            #expect(after.filter { IPAddress($0) != nil }.isEmpty)
        }
    }
}
