import CNISpec
import Datastore
import IPAM

/// The keys of the swift-canal network configuration:
///
/// ```json
/// {"cniVersion":"1.0.0","name":"canal","type":"swift-canal","subnetFile":"/run/flannel/subnet.env",
///  "dataDir":"/var/lib/cni/networks","mtu":1450,"datastore":"file:/var/lib/swiftcni/store","nodeName":"node-1"}
/// ```
///
/// `datastore` and `nodeName` are optional: with both, ADD writes the pod record the policy
/// agent reads (`/swiftcni/pods/<namespace>/<name>`) and DEL deletes it. An etcd store takes
/// Calico's `etcd_ca_cert_file`, `etcd_cert_file`, `etcd_key_file` (and `etcd_username`,
/// `etcd_password`).
struct CanalOptions: Decodable, Sendable {
    var name: String?
    var subnetFile: String?
    var dataDir: String?
    var mtu: Int?
    var datastore: String?
    var nodeName: String?
    /// swift-canald's readiness file, read by STATUS (default: subnetFile's path +
    /// `.canald.ready`); swift-flanneld's, subnetFile's path + `.ready`, is read too.
    var readinessFile: String?
    /// The capability arguments (`mac`, `ips`, `dns` are honoured).
    var runtimeConfig: RuntimeCapabilities?
    /// Decoded on its own from the same object (its keys are EtcdSecurity's).
    var etcdSecurity = EtcdSecurity.none

    private enum CodingKeys: String, CodingKey {
        case name, subnetFile, dataDir, mtu, datastore, nodeName, readinessFile, runtimeConfig
    }

    static let defaultDataDirectory = "/var/lib/cni/networks"
    /// What swift-canal does itself; `portMappings` and `bandwidth` are chained plugins'.
    static let honouredCapabilities: Set<RuntimeCapabilities.Name> = [.mac, .ips, .dns]

    init(decoding bytes: some Collection<UInt8>) throws(CNIError) {
        self = try CNIJSON.decode(Self.self, from: bytes)
        if datastore?.hasPrefix("etcd:") == true { etcdSecurity = try CNIJSON.decode(EtcdSecurity.self, from: bytes) }
        guard let name, !name.isEmpty, !name.contains("/"), name != ".", name != ".." else {
            throw CNIError(.invalidNetworkConfig, "invalid or missing network name")
        }
        if let mtu, !(68...65535).contains(mtu) { throw CNIError(.invalidNetworkConfig, "invalid mtu \(mtu)") }
    }

    var networkName: String { name ?? "canal" }
    var subnetPath: String { subnetFile.flatMap { $0.isEmpty ? nil : $0 } ?? SubnetEnvironment.defaultPath }
    var agentReadinessPath: String {
        readinessFile.flatMap { $0.isEmpty ? nil : $0 } ?? AgentReadiness.path(beside: subnetPath, agent: "canald")
    }
    var overlayReadinessPath: String { AgentReadiness.path(beside: subnetPath) }
    var dataDirectory: String { dataDir.flatMap { $0.isEmpty ? nil : $0 } ?? Self.defaultDataDirectory }
}
