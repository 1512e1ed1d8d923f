import CNISpec
import Weave

/// The keys of the swift-weave network configuration:
///
/// ```json
/// {"cniVersion":"1.0.0","name":"weave","type":"swift-weave","socket":"/run/swift-weave/weave.sock",
///  "hairpinMode":true,"datastore":"file:/var/lib/swiftcni/store","nodeName":"node-1"}
/// ```
///
/// `datastore` and `nodeName` are optional: with both, ADD writes the pod record the policy
/// agent reads (`/swiftcni/pods/<namespace>/<name>`) and DEL deletes it.
struct WeaveOptions: Decodable, Sendable {
    var name: String?
    /// The agent's local socket (default `/run/swift-weave/weave.sock`).
    var socket: String?
    /// Hairpin on the pod's bridge port (default true, as Weave).
    var hairpinMode: Bool?
    /// swift-weaved's readiness file, read by STATUS (default: the socket's path + `.ready`).
    var readinessFile: String?
    /// The capability arguments (`mac` and `dns` are honoured; addresses come from the ring).
    var runtimeConfig: RuntimeCapabilities?
    var datastore: String?
    var nodeName: String?
    /// `cni.dev/valid-attachments` of a GC request.
    var validAttachments: [NetworkAttachment]?

    enum CodingKeys: String, CodingKey {
        case name, socket, hairpinMode, readinessFile, runtimeConfig, datastore, nodeName
        case validAttachments = "cni.dev/valid-attachments"
    }

    init(decoding bytes: some Collection<UInt8>) throws(CNIError) {
        self = try CNIJSON.decode(Self.self, from: bytes)
        guard let name, !name.isEmpty else { throw CNIError(.invalidNetworkConfig, "invalid or missing network name") }
        if let socket, socket.isEmpty || socket.utf8.count > 107 {
            throw CNIError(.invalidNetworkConfig, "\"socket\" must be a path of 1 to 107 bytes")
        }
    }

    var client: WeaveAgentClient { WeaveAgentClient(socketPath: socket ?? WeaveNames.defaultSocketPath) }
    var hairpin: Bool { hairpinMode ?? true }
    static let honouredCapabilities: Set<RuntimeCapabilities.Name> = [.mac, .dns]
    var readinessPath: String {
        readinessFile.flatMap { $0.isEmpty ? nil : $0 }
            ?? AgentReadiness.path(beside: socket ?? WeaveNames.defaultSocketPath)
    }
}
