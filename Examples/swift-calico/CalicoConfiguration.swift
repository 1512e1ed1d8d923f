import CNISpec
import Datastore
import IPAM
import NetPrimitives

/// swift-calico's own keys at the top level of its network configuration:
///
/// ```json
/// {"cniVersion":"1.0.0","name":"k8s-pod-network","type":"swift-calico",
///  "datastore":"file:/var/lib/swiftcni/store","nodeName":"node-1","mtu":1500,
///  "ipam":{"type":"calico-ipam","pools":[{"cidr":"10.244.0.0/16","blockSize":26}]}}
/// ```
///
/// An etcd store (`etcd:https://…`) takes Calico's keys beside `datastore`:
/// `etcd_ca_cert_file`, `etcd_cert_file`, `etcd_key_file`, and `etcd_username`, `etcd_password`.
///
/// `ipam.type` `calico-ipam` allocates in process from the block-affinity IPAM (Calico's
/// model: blocks affine to `nodeName` in `datastore`); any other type (host-local, swift-ipam)
/// is run as a delegated IPAM plugin found on CNI_PATH.
struct CalicoOptions: Codable, Sendable, Equatable {
    /// `file:DIR` or `etcd:URL[,URL…]`: where blocks and pod records live.
    var datastore: String?
    /// The node this plugin runs on (the agent's `--node`).
    var nodeName: String?
    /// MTU of both veth ends. Absent (or 0): the pod MTU swift-calico-node publishes with its
    /// readiness (``readinessFile``), as Calico's plugin reads the node's `/var/lib/calico/mtu`;
    /// without one, the kernel's (1500).
    var mtu: Int?
    /// swift-calico-node's readiness file, read by STATUS (default: `ready` in the agent's
    /// default `--state-dir`, /var/run/swiftcni/calico-node).
    var readinessFile: String?

    static let defaultReadinessFile = "/var/run/swiftcni/calico-node/ready"
    var readinessPath: String { readinessFile.flatMap { $0.isEmpty ? nil : $0 } ?? Self.defaultReadinessFile }

    /// ``mtu`` when given, else the agent's published pod MTU, else nil (the kernel's).
    var effectiveMTU: Int? {
        if let mtu, mtu > 0 { return mtu }
        guard let published = (try? AgentReadiness.read(path: readinessPath))??.podMTU, published >= 68 else { return nil }
        return published
    }

    static let inProcessIPAMType = "calico-ipam"
}

/// The `ipam` section when `type` is `calico-ipam`: swift-calico's `pools` and Calico's
/// `assign_ipv4`, `assign_ipv6`, `ipv4_pools`, `ipv6_pools` (``effectivePools()``).
struct BlockIPAMOptions: Decodable {
    var pools: [BlockPool]?
    var strictAffinity: Bool?
    var assignIPv4: CalicoFlag?
    var assignIPv6: CalicoFlag?
    var ipv4Pools: [IPNetwork]?
    var ipv6Pools: [IPNetwork]?

    enum CodingKeys: String, CodingKey {
        case pools, strictAffinity, assignIPv4 = "assign_ipv4", assignIPv6 = "assign_ipv6", ipv4Pools = "ipv4_pools"
        case ipv6Pools = "ipv6_pools"
    }
}

/// The keys of the network configuration swift-calico reads, decoded on their own rather than
/// as CNISpec's generic `NetworkConfiguration<CalicoOptions>` (as swift-flannel's
/// `FlannelOptions`): the generic container and the untyped tree of every other key cost a
/// quarter of an ADD's user-space CPU in type-metadata instantiation (`perf record`).
/// Unknown keys are ignored.
struct CalicoNetworkConfiguration: Decodable, Sendable {
    var name: String?
    var ipam: IPAMConfiguration?
    /// swift-calico's own top-level keys.
    var options: CalicoOptions
    /// Calico's `etcd_ca_cert_file`, `etcd_cert_file`, `etcd_key_file` (and user keys).
    var etcdSecurity: EtcdSecurity
    /// The capability arguments (`mac`, `dns`; `ips` with a delegated IPAM, which reads them).
    var runtimeConfig: RuntimeCapabilities?
    var args: JSONValue?
    /// GC's `cni.dev/valid-attachments`.
    var validAttachments: [NetworkAttachment]?

    enum CodingKeys: String, CodingKey {
        case name, ipam, runtimeConfig, args, validAttachments = "cni.dev/valid-attachments"
    }

    init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        name = try container.decodeIfPresent(String.self, forKey: .name)
        ipam = try container.decodeIfPresent(IPAMConfiguration.self, forKey: .ipam)
        runtimeConfig = try container.decodeIfPresent(RuntimeCapabilities.self, forKey: .runtimeConfig)
        args = try container.decodeIfPresent(JSONValue.self, forKey: .args)
        validAttachments = try container.decodeIfPresent([NetworkAttachment].self, forKey: .validAttachments)
        options = try CalicoOptions(from: decoder)
        etcdSecurity = try EtcdSecurity(from: decoder)
    }

    /// What swift-calico honours: `mac` and `dns` itself; `ips` with the in-process block IPAM
    /// (a requested address, borrowed or claimed: ``AddressSource``) or through a delegated IPAM
    /// plugin (host-local, swift-ipam). `portMappings` and `bandwidth` are the chained portmap
    /// and bandwidth plugins'.
    var honouredCapabilities: Set<RuntimeCapabilities.Name> {
        [.mac, .dns, .ips]
    }

    /// Decodes a request's configuration; failures are code 6 (decoding failure).
    init(decoding bytes: some Collection<UInt8>) throws(CNIError) {
        self = try CNIJSON.decode(Self.self, from: bytes)
    }
}

/// Who a pod is: Kubernetes' namespace/name when the runtime passes them in CNI_ARGS
/// (`K8S_POD_NAMESPACE`, `K8S_POD_NAME`), otherwise the container ID and interface.
struct PodIdentity: Sendable, Equatable {
    var namespace: String?
    var name: String?
    var containerID: String
    var interfaceName: String

    init(request: PluginRequest) {
        namespace = request.arguments["K8S_POD_NAMESPACE"].flatMap { $0.isEmpty ? nil : $0 }
        name = request.arguments["K8S_POD_NAME"].flatMap { $0.isEmpty ? nil : $0 }
        containerID = request.containerID
        interfaceName = request.interfaceName?.value ?? ""
    }

    /// The text hashed into the host interface name.
    var hashedText: String {
        if let namespace, let name { return namespace + "." + name + (interfaceName == "eth0" ? "" : "." + interfaceName) }
        return containerID + "." + interfaceName
    }

    /// `cali` and 11 hex digits of a 64-bit FNV-1a hash of ``hashedText``: 15 bytes, the
    /// kernel's limit, stable across ADD, CHECK and DEL.
    var hostInterfaceName: InterfaceName {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in hashedText.utf8 {
            hash ^= UInt64(byte)
            hash &*= 0x0000_0100_0000_01b3
        }
        let hex = String(hash, radix: 16)
        let padded = String(repeating: "0", count: max(0, 16 - hex.count)) + hex
        return try! InterfaceName("cali" + padded.prefix(11))
    }
}
