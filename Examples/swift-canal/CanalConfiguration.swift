import CNISpec
import NetPrimitives

/// The keys of the swift-canal network configuration:
///
/// ```json
/// {"cniVersion":"1.0.0","name":"canal","type":"swift-canal","subnetFile":"/run/flannel/subnet.env",
///  "dataDir":"/var/lib/cni/networks","mtu":1450,"datastore":"file:/var/lib/swiftcni/store","nodeName":"node-1"}
/// ```
///
/// `datastore` and `nodeName` are optional: with both, ADD writes the pod record the policy
/// agent reads (`/swiftcni/pods/<namespace>/<name>`) and DEL deletes it.
struct CanalOptions: Decodable, Sendable {
    var name: String?
    var subnetFile: String?
    var dataDir: String?
    var mtu: Int?
    var datastore: String?
    var nodeName: String?

    static let defaultSubnetFile = "/run/flannel/subnet.env"
    static let defaultDataDirectory = "/var/lib/cni/networks"

    init(decoding bytes: some Collection<UInt8>) throws(CNIError) {
        self = try CNIJSON.decode(Self.self, from: bytes)
        guard let name, !name.isEmpty, !name.contains("/"), name != ".", name != ".." else {
            throw CNIError(.invalidNetworkConfig, "invalid or missing network name")
        }
        if let mtu, !(68...65535).contains(mtu) { throw CNIError(.invalidNetworkConfig, "invalid mtu \(mtu)") }
    }

    var networkName: String { name ?? "canal" }
    var subnetPath: String { subnetFile.flatMap { $0.isEmpty ? nil : $0 } ?? Self.defaultSubnetFile }
    var dataDirectory: String { dataDir.flatMap { $0.isEmpty ? nil : $0 } ?? Self.defaultDataDirectory }
}

/// The node's flannel lease as flanneld (swift-flanneld, run by swift-canald) writes it in
/// subnet.env: `FLANNEL_SUBNET` (this node's pod subnet, as its first host) and `FLANNEL_MTU`.
struct NodeSubnet: Hashable, Sendable {
    var subnet: IPNetwork
    var mtu: Int?

    init(subnet: IPNetwork, mtu: Int? = nil) {
        self.subnet = subnet
        self.mtu = mtu
    }

    init(parsing text: String) throws(CNIError) {
        var values: [Substring: Substring] = [:]
        for line in text.split(whereSeparator: \.isNewline) where !line.hasPrefix("#") {
            guard let equals = line.firstIndex(of: "=") else { continue }
            values[line[..<equals]] = line[line.index(after: equals)...]
        }
        guard let text = values["FLANNEL_SUBNET"], let subnet = IPNetwork(String(text)), subnet.family == .v4,
            subnet.prefixLength <= 30
        else {
            throw CNIError(.invalidNetworkConfig, "subnet.env has no usable IPv4 FLANNEL_SUBNET")
        }
        self.subnet = subnet
        mtu = values["FLANNEL_MTU"].flatMap { Int($0) }.flatMap { (68...65535).contains($0) ? $0 : nil }
    }
}
