import Foundation
import IPAM
import Mesh
import Metrics
import NetPrimitives
import Weave

/// `swift-weaved status --json`: the node's view of the mesh, the ring and the fast path.
struct AgentStatus: Codable, Sendable {
    struct FastPath: Codable, Sendable {
        var device: String
        var port: UInt16
        /// The underlay addresses of the directly connected peers (one flood entry each).
        var remotes: [String]
        /// Failed flood-list reconciles since start.
        var errors: Int
    }

    var node: String
    var peer: String
    var range: String
    /// The bridge's address (the pods' gateway); nil until the ring gave one.
    var gateway: String?
    var mtu: Int
    /// Whether data between untrusted peers is encrypted: true with a mesh secret (such pairs
    /// use the sleeve, sealed with their connection's data-channel keys; pairs inside the
    /// trusted subnets keep the fast path in clear).
    var dataEncrypted: Bool
    var fastPath: FastPath
    var sleeve: SleeveStatus
    /// How each reachable peer is reached: path, first hop, hops, encryption.
    var paths: [PeerPath]
    var mesh: MeshRouterStatus
    var ring: RingStatus
}

/// The sleeve's part of the status.
struct SleeveStatus: Codable, Sendable {
    var device: String
    var port: Int
    /// The peers whose data goes over the sleeve (nicknames).
    var peers: [String]
    var counters: SleeveCounters
}

extension WeaveAgent {
    func status(node: String) async -> AgentStatus {
        let sleevePeers = peerPaths.filter { $0.path == .sleeve }.map(\.peer)
        return AgentStatus(
            node: node, peer: me.nameText, range: "\(range)",
            gateway: gateway.map { "\($0)" }, mtu: dataPath.mtu, dataEncrypted: router.configuration.node.secret != nil,
            fastPath: AgentStatus.FastPath(
                device: WeaveNames.fastPathDevice.value, port: WeaveNames.fastPathPort,
                remotes: floodRemotes.sorted().map(\.description), errors: floodErrors),
            sleeve: SleeveStatus(
                device: WeaveNames.sleeveDevice.value, port: WeaveNames.controlPort, peers: sleevePeers,
                counters: sleeve?.counters ?? SleeveCounters()),
            paths: peerPaths,
            mesh: await router.status(), ring: ring.status)
    }

    /// Answers one request of the local socket.
    func handle(_ request: WeaveAgentRequest, node: String) async -> WeaveAgentResponse {
        do {
            switch request.operation {
            case .allocate:
                guard let container = request.containerID else { return .failure("allocate needs a containerID") }
                let gateway = try await waitForGateway()
                let address = try await allocate(container)
                return WeaveAgentResponse(
                    address: "\(address)/\(range.prefixLength)", gateway: "\(gateway)", mtu: dataPath.mtu)
            case .release:
                guard let container = request.containerID else { return .failure("release needs a containerID") }
                let freed = try await release(container)
                return WeaveAgentResponse(text: freed.map { "released \($0)" } ?? "nothing held")
            case .retain:
                let freed = try await retain(Set(request.containerIDs ?? []))
                return WeaveAgentResponse(text: "released \(freed.count): \(freed.joined(separator: " "))")
            case .ping:
                guard let gateway else {
                    return .failure("not ready: \(ring.ring.isInitialised ? "the bridge has no address yet" : "the ring is not initialised")")
                }
                return WeaveAgentResponse(gateway: "\(gateway)", mtu: dataPath.mtu)
            case .status:
                let encoder = JSONEncoder()
                encoder.outputFormatting = [.sortedKeys, .prettyPrinted]
                let bytes = try encoder.encode(await status(node: node))
                return WeaveAgentResponse(text: String(decoding: bytes, as: UTF8.self))
            case .removePeer:
                guard let peer = request.peer else { return .failure("removePeer needs a peer") }
                return WeaveAgentResponse(text: try await removePeer(peer))
            }
        } catch let error as WeaveError {
            return .failure(error.message)
        } catch {
            return .failure("\(error)")
        }
    }

    /// The gateway, waiting up to 45 s for the ring to give the bridge its address.
    private func waitForGateway() async throws -> IPAddress {
        for _ in 0..<450 {
            if let gateway { return gateway }
            try await Task.sleep(for: .milliseconds(100))
        }
        throw WeaveError(.timedOut, "the bridge got no address within 45 s (is the ring initialised? see status)")
    }

    /// Sets the gauges `/metrics` shows.
    func recordMetrics() async {
        let status = await router.node.status()
        var byPath: [String: Int] = [:]
        for path in peerPaths { byPath["\(path.path.rawValue)/\(path.encrypted)", default: 0] += 1 }
        for path in ["fastpath", "sleeve"] {
            for encrypted in [true, false] {
                Gauge(label: "weave_connections", dimensions: [("path", path), ("encrypted", "\(encrypted)")])
                    .record(byPath["\(path)/\(encrypted)"] ?? 0)
            }
        }
        let counters = status.counters
        for (reason, count) in [
            ("tampered", counters.recordsTampered), ("replayed", counters.recordsReplayed), ("malformed", counters.recordsMalformed),
            ("frame_rejected", counters.framesRejected), ("handshake_failed", counters.handshakesFailed),
        ] {
            Gauge(label: "weave_mesh_drops", dimensions: [("reason", reason)]).record(count)
        }
        Gauge(label: "weave_ipam_allocations").record(ring.allocations.count)
        Gauge(label: "weave_ipam_free_addresses").record(Int(ring.ring.freeByOwner[me] ?? 0))
        Gauge(label: "weave_fastpath_flood_entries").record(floodRemotes.count)
        Gauge(label: "weave_fastpath_errors").record(floodErrors)
        Gauge(label: "weave_fastpath_heartbeats_sent").record(heartbeat?.heartbeatsSent ?? 0)
        let sleeveCounters = sleeve?.counters ?? SleeveCounters()
        for (direction, bytes) in [("sent", sleeveCounters.bytesSent), ("received", sleeveCounters.bytesReceived)] {
            Gauge(label: "weave_sleeve_bytes", dimensions: [("direction", direction)]).record(bytes)
        }
        for (kind, frames) in [("sent", sleeveCounters.framesSent), ("delivered", sleeveCounters.framesDelivered),
                               ("relayed", sleeveCounters.framesRelayed)] {
            Gauge(label: "weave_sleeve_frames", dimensions: [("kind", kind)]).record(frames)
        }
        for reason in SleeveDrop.allCases {
            Gauge(label: "weave_sleeve_drops", dimensions: [("reason", reason.rawValue)])
                .record(sleeveCounters.drops[reason.rawValue] ?? 0)
        }
    }
}
