import AgentHTTP
import CNISpec
import IPAM
import NetPrimitives

/// The backend section of flannel's network configuration:
/// `"Backend": {"Type": "vxlan", "VNI": 1, "Port": 8472, "DirectRouting": false}` or
/// `{"Type": "host-gw"}`.
struct BackendConfiguration: Hashable, Sendable {
    enum Kind: String, Hashable, Sendable {
        case vxlan
        case hostGateway = "host-gw"
    }

    var kind: Kind
    var identifier: UInt32
    var port: UInt16
    var directRouting: Bool

    /// Decodes the `Backend` object (absent: vxlan with flannel's defaults).
    init(_ value: JSONValue?) throws(AgentError) {
        let object = value?.objectValue ?? [:]
        let type = object["Type"]?.stringValue ?? "vxlan"
        guard let kind = Kind(rawValue: type) else {
            throw AgentError(.invalidConfiguration, "unsupported backend type \"\(type)\" (this agent supports vxlan and host-gw)")
        }
        self.kind = kind
        let vni = object["VNI"]?.integerValue ?? 1
        guard vni >= 0, vni < 1 << 24 else { throw AgentError(.invalidConfiguration, "Backend.VNI \(vni) is out of range") }
        identifier = UInt32(vni)
        let port = object["Port"]?.integerValue ?? 0
        guard port >= 0, port <= 65535 else { throw AgentError(.invalidConfiguration, "Backend.Port \(port) is out of range") }
        self.port = port == 0 ? 8472 : UInt16(port)
        directRouting = object["DirectRouting"]?.boolValue ?? false
    }
}
