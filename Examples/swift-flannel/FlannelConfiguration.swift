import CNISpec
import IPAMCore
import NetPrimitives

/// The keys of flannel's CNI configuration that swift-flannel reads (everything else passes
/// through untouched): an existing flannel conflist works by changing `type` only.
///
/// Decoded on its own rather than as CNISpec's `NetworkConfiguration<Options>`: the plugin
/// needs a handful of keys, and skipping the generic container and the untyped tree of every
/// other key saves type-metadata instantiation on each pod's ADD.
struct FlannelOptions: Decodable, Sendable {
    /// The network name (host-local's directory under `dataDir`).
    var name: String?
    /// flanneld's subnet.env (default /run/flannel/subnet.env).
    var subnetFile: String?
    /// Where pod addresses are reserved, in host-local's on-disk format
    /// (`DATADIR/NETWORK/ADDRESS`; default /var/lib/cni/flannel).
    var dataDir: String?
    /// swift-flanneld's readiness file, read by STATUS (default: subnetFile's path +
    /// `.ready`, where the agent publishes it by default).
    var readinessFile: String?
    /// The bridge options flannel hands to the bridge plugin it delegates to.
    var delegate: DelegateOptions?
    /// Present when chained after another plugin (and for CHECK); decoded only when present.
    var prevResult: JSONValue?
    /// The capability arguments the runtime passes (`mac`, `ips`, `dns` are honoured).
    var runtimeConfig: RuntimeCapabilities?
    /// GC's `cni.dev/valid-attachments`.
    var validAttachments: [NetworkAttachment]?

    enum CodingKeys: String, CodingKey {
        case name, subnetFile, dataDir, readinessFile, delegate, prevResult, runtimeConfig, validAttachments = "cni.dev/valid-attachments"
    }

    static let defaultDataDirectory = "/var/lib/cni/flannel"

    /// What swift-flannel does itself; `portMappings` and `bandwidth` are the chained portmap
    /// and bandwidth plugins' (refused when declared for swift-flannel).
    static let honouredCapabilities: Set<RuntimeCapabilities.Name> = [.mac, .ips, .dns]

    /// Decodes a request's configuration; failures are code 6.
    init(decoding bytes: some Collection<UInt8>) throws(CNIError) {
        self = try CNIJSON.decode(Self.self, from: bytes)
    }
}

/// The `delegate` object: the reference bridge plugin's options that matter here.
struct DelegateOptions: Decodable, Sendable {
    var bridge: String?
    var isGateway: Bool?
    var isDefaultGateway: Bool?
    var hairpinMode: Bool?
    var mtu: Int?
    var ipMasq: Bool?
}

/// Everything ADD/DEL/CHECK need, resolved from the configuration and subnet.env.
struct FlannelSettings: Sendable {
    var networkName: String
    var dataDirectory: String
    var subnetFile: String
    var readinessFile: String
    var bridge: InterfaceName
    var isGateway: Bool
    var isDefaultGateway: Bool
    var hairpin: Bool
    var mtu: Int?

    init(_ options: FlannelOptions) throws(CNIError) {
        let delegate = options.delegate ?? DelegateOptions()
        networkName = options.name ?? "cbr0"
        guard !networkName.isEmpty, !networkName.contains("/"), networkName != ".", networkName != ".." else {
            throw CNIError(.invalidNetworkConfig, "invalid network name \"\(networkName)\"")
        }
        dataDirectory = options.dataDir.flatMap { $0.isEmpty ? nil : $0 } ?? FlannelOptions.defaultDataDirectory
        subnetFile = options.subnetFile.flatMap { $0.isEmpty ? nil : $0 } ?? SubnetEnvironment.defaultPath
        readinessFile = options.readinessFile.flatMap { $0.isEmpty ? nil : $0 }
            ?? AgentReadiness.path(beside: subnetFile)
        do { bridge = try InterfaceName(delegate.bridge ?? "cni0") } catch {
            throw CNIError(.invalidNetworkConfig, "invalid bridge name \"\(delegate.bridge ?? "")\"", details: "\(error)")
        }
        isDefaultGateway = delegate.isDefaultGateway ?? false
        // A default gateway is a gateway (as the bridge plugin has it); flannel sets isGateway.
        isGateway = (delegate.isGateway ?? true) || isDefaultGateway
        hairpin = delegate.hairpinMode ?? false
        if let mtu = delegate.mtu, !(68...65535).contains(mtu) {
            throw CNIError(.invalidNetworkConfig, "invalid mtu \(mtu)")
        }
        mtu = delegate.mtu
    }
}

/// The node's addressing for pods, from subnet.env: one family (IPv4 or IPv6) or both.
struct PodNetwork: Sendable {
    /// One family's subnet, gateway and cluster network.
    struct Family: Sendable {
        /// The node subnet, network form (`10.244.1.0/24`, `fd00:10:244:1::/64`).
        var subnet: IPNetwork
        /// The pods' gateway on the bridge: the subnet's first host, with the subnet's length.
        var gateway: IPNetwork
        var clusterNetwork: IPNetwork

        init(subnet: IPNetwork, clusterNetwork: IPNetwork) {
            self.subnet = subnet.network
            gateway = try! IPNetwork(address: self.subnet.address.advanced(by: 1)!, prefixLength: self.subnet.prefixLength)
            self.clusterNetwork = clusterNetwork.network
        }
    }

    /// IPv4 first (when the network has it), then IPv6.
    var families: [Family]
    var mtu: Int?

    /// From subnet.env (IPAM's `SubnetEnvironment`): a missing file is code 11 (flanneld has
    /// not leased a subnet yet), a bad one or a subnet without room for pods code 7.
    init(settings: FlannelSettings) throws(CNIError) {
        let environment: SubnetEnvironment
        do throws(IPAMError) {
            environment = try SubnetEnvironment.load(path: settings.subnetFile)
            families = []
            if let network = environment.network {
                families.append(Family(subnet: try environment.ipv4PodSubnet(), clusterNetwork: network))
            }
            if let network = environment.ipv6Network, let subnet = environment.ipv6Subnet {
                guard subnet.prefixLength <= 126 else {
                    throw IPAMError(.invalidConfiguration, "subnet.env: FLANNEL_IPV6_SUBNET \(subnet) is too small for pods")
                }
                families.append(Family(subnet: subnet, clusterNetwork: network))
            }
        } catch {
            throw CNIError(error)
        }
        mtu = settings.mtu ?? environment.mtu
    }
}
