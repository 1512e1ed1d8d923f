import CNISpec
import IPAM
import NetPrimitives

/// The backend section of flannel's network configuration:
/// `"Backend": {"Type": "vxlan", "VNI": 1, "Port": 8472, "DirectRouting": false}` or
/// `{"Type": "host-gw"}`.
struct FlannelBackend: Hashable, Sendable {
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
            throw AgentError("unsupported backend type \"\(type)\" (this agent supports vxlan and host-gw)")
        }
        self.kind = kind
        let vni = object["VNI"]?.integerValue ?? 1
        guard vni >= 0, vni < 1 << 24 else { throw AgentError("Backend.VNI \(vni) is out of range") }
        identifier = UInt32(vni)
        let port = object["Port"]?.integerValue ?? 0
        guard port >= 0, port <= 65535 else { throw AgentError("Backend.Port \(port) is out of range") }
        self.port = port == 0 ? 8472 : UInt16(port)
        directRouting = object["DirectRouting"]?.boolValue ?? false
    }
}

/// The contents of flannel's `subnet.env`, which the CNI plugin reads.
struct SubnetEnvironment: Hashable, Sendable {
    var network: IPNetwork
    var subnet: IPNetwork
    var mtu: Int
    var ipMasquerade: Bool

    /// flannel writes the subnet as its first host address with the prefix length:
    /// `FLANNEL_SUBNET=10.244.1.1/24`.
    var text: String {
        let first = subnet.network.address.advanced(by: 1) ?? subnet.network.address
        return """
            FLANNEL_NETWORK=\(network.network)
            FLANNEL_SUBNET=\(first)/\(subnet.prefixLength)
            FLANNEL_MTU=\(mtu)
            FLANNEL_IPMASQ=\(ipMasquerade)

            """
    }

    /// The subnet recorded in an existing file, used as the preferred subnet after a restart.
    static func previousSubnet(in text: String) -> IPNetwork? {
        for line in text.split(separator: "\n") where line.hasPrefix("FLANNEL_SUBNET=") {
            return (try? IPNetwork(parsing: line.dropFirst("FLANNEL_SUBNET=".count)))?.network
        }
        return nil
    }
}

/// The agent's error: a message for the operator.
struct AgentError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}
