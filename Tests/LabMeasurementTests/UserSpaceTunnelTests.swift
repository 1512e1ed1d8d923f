import ChildProcess
import Foundation
import LabMeasurement
import Namespaces
import Testing
import TestSupport

/// The user-space references of `cnilab bench datapath`: wireguard-go and tinc set up between
/// two namespaces this test creates (joined by a veth "underlay") carry a ping through the
/// tunnel, and removing them stops the daemons and leaves no control socket or device.
@Suite(.serialized) struct UserSpaceTunnelTests {
    typealias Setup = @Sendable (TunnelEndpoint, TunnelEndpoint, String, [String]) async throws -> UserSpaceTunnel

    func pingThrough(prefix: String, _ setup: Setup) async throws {
        let directory = try RunDirectory.make(prefix: "cnilab-tunnel-test-")
        defer { RunDirectory.remove(directory) }
        try await NamespaceFixture.with(count: 2) { namespaces in
            let (a, b) = (namespaces[0], namespaces[1])
            try a.ip(["link", "add", "cdpu0", "type", "veth", "peer", "name", "cdpu1", "netns", try #require(b.name)])
            try a.ip(["addr", "add", "192.168.251.1/24", "dev", "cdpu0"])
            try b.ip(["addr", "add", "192.168.251.2/24", "dev", "cdpu1"])
            try a.ip(["link", "set", "cdpu0", "up"])
            try b.ip(["link", "set", "cdpu1", "up"])
            let devices = UserSpaceTunnel.uniqueDeviceNames(prefix: prefix)
            #expect(devices.allSatisfy { $0.utf8.count <= 15 } && devices[0] != devices[1])
            let tunnel = try await setup(
                TunnelEndpoint(namespace: a, underlayAddress: "192.168.251.1", tunnelAddress: "172.30.9.1", subnets: ["10.251.1.0/24"]),
                TunnelEndpoint(namespace: b, underlayAddress: "192.168.251.2", tunnelAddress: "172.30.9.2", subnets: ["10.251.2.0/24"]),
                directory, devices)
            var removed = false
            defer { if !removed { tunnel.remove() } }
            #expect(tunnel.devices == devices && tunnel.processes.count == 2)
            // The daemons connect and exchange keys in their own time: up to 30 s on a loaded machine.
            let answered = try await eventually(within: 30) { try a.ping("172.30.9.2") }
            #expect(answered, "no ping through \(tunnel.kind) (\(devices))")
            tunnel.remove()
            removed = true
            #expect(tunnel.processes.allSatisfy { !ConfinedMountNamespace.isRunning($0.pid) })
            #expect(try a.ip(["link", "show", devices[0]]).isEmpty && b.ip(["link", "show", devices[1]]).isEmpty)
            #expect(!FileManager.default.fileExists(atPath: "/var/run/wireguard/\(devices[0]).sock"))
            #expect(!FileManager.default.fileExists(atPath: "/var/run/wireguard/\(devices[1]).sock"))
        }
    }

    @Test(.privileged) func wireguardGoCarriesAPing() async throws {
        try await pingThrough(prefix: "cdptwg") { a, b, directory, devices in
            try await UserSpaceTunnel.wireguardGo(between: a, b, directory: directory, devices: devices)
        }
    }

    @Test(.privileged) func tincCarriesAPing() async throws {
        try await pingThrough(prefix: "cdpttc") { a, b, directory, devices in
            try await UserSpaceTunnel.tinc(between: a, b, directory: directory, devices: devices)
        }
    }
}
