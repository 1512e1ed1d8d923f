#if canImport(Glibc)
import Glibc
#endif
import CNISpec
import Foundation
import Namespaces
import NetPrimitives
import Testing
import TestSupport

/// TestSupport's `ContainerdSandbox` cleans up after a test that stops half-way: a container
/// still running at tear-down is DELeted, and a containerd killed under its containers leaves
/// no container, shim or mount namespace behind; nothing appears in the machine's own
/// containerd or CNI paths.
@Suite(.serialized) struct ContainerdSandboxTests {
    static let network = "swcni-ctr"
    static let machinePaths = ["/run/containerd", "/var/lib/containerd", "/var/lib/cni", "/opt/cni/bin/swift-flannel"]

    func withSandbox(_ body: (ContainerdSandbox, String) throws -> Void) async throws {
        try #require(FileManager.default.isExecutableFile(atPath: "/usr/bin/containerd"), "containerd is not installed")
        let existing = Self.machinePaths.filter { FileManager.default.fileExists(atPath: $0) }
        let directory = try TestDirectories.temporary(prefix: "swcni-ctr-")
        defer { TestDirectories.remove(directory) }
        try await NamespaceFixture.with(count: 1) { namespaces in
            let sandbox = try ContainerdSandbox(
                directory: directory, node: namespaces[0], network: Self.network,
                conflist: """
                    {"cniVersion": "1.0.0", "name": "\(Self.network)", "plugins": [
                      {"type": "swift-flannel", "subnetFile": "\(directory)/subnet.env", "dataDir": "\(directory)/data",
                       "delegate": {"bridge": "cni0", "isDefaultGateway": true}}
                    ]}
                    """,
                plugins: ["swift-flannel": TestDirectories.products + "/swift-flannel"],
                files: ["subnet.env": "FLANNEL_NETWORK=10.244.0.0/16\nFLANNEL_SUBNET=10.244.7.1/24\nFLANNEL_MTU=1450\nFLANNEL_IPMASQ=false\n"])
            defer { sandbox.tearDown() }
            try body(sandbox, directory)
        }
        #expect(Self.machinePaths.filter { FileManager.default.fileExists(atPath: $0) } == existing)
    }

    static func reserved(_ directory: String) -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: directory + "/data/" + network)) ?? []).filter { IPAddress($0) != nil }
    }

    static func alive(_ pid: Int32) -> Bool { ConfinedMountNamespace.isRunning(pid) }

    @Test(.privileged, .timeLimit(.minutes(1))) func tearDownDeletesARunningContainer() async throws {
        try await withSandbox { sandbox, directory in
            try sandbox.start("c1", ["/bin/sleep", "300"])
            #expect(Self.reserved(directory).count == 1)
            let processes = sandbox.mounts.processes()
            #expect(processes.contains(sandbox.daemon.pid))
            sandbox.tearDown()
            #expect(Self.reserved(directory).isEmpty, "DEL did not run at tear-down")
            #expect(sandbox.resultCache.entries(network: Self.network).isEmpty)
            #expect(!Self.alive(sandbox.mounts.holder.pid))
            #expect(processes.filter(Self.alive).isEmpty, "still running: \(processes.filter(Self.alive))")
        }
    }

    @Test(.privileged, .timeLimit(.minutes(1))) func aKilledContainerdLeavesNothingRunning() async throws {
        try await withSandbox { sandbox, directory in
            try sandbox.start("c1", ["/bin/sleep", "300"])
            let pidFile = directory + "/state/io.containerd.runtime.v2.task/\(ContainerdSandbox.namespace)/c1/init.pid"
            let text = try String(contentsOfFile: pidFile, encoding: .utf8)
            let container = try #require(Int32(text.trimmingCharacters(in: .whitespacesAndNewlines)))
            #expect(Self.alive(container))
            let processes = sandbox.mounts.processes()
            _ = sandbox.daemon.signal(SIGKILL)
            sandbox.tearDown()
            #expect(!Self.alive(container), "the container outlived its containerd")
            #expect(!Self.alive(sandbox.mounts.holder.pid))
            #expect(processes.filter(Self.alive).isEmpty, "still running: \(processes.filter(Self.alive))")
        }
    }
}
