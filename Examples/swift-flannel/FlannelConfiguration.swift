import CNISpec
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
    /// The bridge options flannel hands to the bridge plugin it delegates to.
    var delegate: DelegateOptions?
    /// Present when chained after another plugin (and for CHECK); decoded only when present.
    var prevResult: JSONValue?
    /// GC's `cni.dev/valid-attachments`.
    var validAttachments: [NetworkAttachment]?

    enum CodingKeys: String, CodingKey {
        case name, subnetFile, dataDir, delegate, prevResult, validAttachments = "cni.dev/valid-attachments"
    }

    static let defaultSubnetFile = "/run/flannel/subnet.env"
    static let defaultDataDirectory = "/var/lib/cni/flannel"

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

/// flanneld's `subnet.env`: `KEY=VALUE` lines; `#` comments and unknown keys ignored.
struct SubnetEnvironment: Hashable, Sendable {
    /// FLANNEL_NETWORK: the whole cluster network (`10.244.0.0/16`).
    var network: IPNetwork
    /// FLANNEL_SUBNET: this node's subnet, written as its first host (`10.244.1.1/24`).
    var subnet: IPNetwork
    /// FLANNEL_MTU.
    var mtu: Int?
    /// FLANNEL_IPMASQ: whether flanneld masquerades itself.
    var ipMasq: Bool

    init(network: IPNetwork, subnet: IPNetwork, mtu: Int? = nil, ipMasq: Bool = false) {
        self.network = network
        self.subnet = subnet
        self.mtu = mtu
        self.ipMasq = ipMasq
    }

    init(parsing text: String) throws(CNIError) {
        var values: [String: String] = [:]
        for rawLine in text.split(whereSeparator: \.isNewline) {
            let line = rawLine.drop { $0 == " " || $0 == "\t" }
            guard !line.isEmpty, line.first != "#", let equals = line.firstIndex(of: "=") else { continue }
            var value = String(line[line.index(after: equals)...])
            while value.last == " " || value.last == "\t" { value.removeLast() }
            if value.count >= 2, value.first == "\"", value.last == "\"" { value = String(value.dropFirst().dropLast()) }
            values[String(line[..<equals])] = value
        }
        func cidr(_ key: String) throws(CNIError) -> IPNetwork {
            guard let text = values[key] else { throw CNIError(.invalidNetworkConfig, "subnet.env has no \(key)") }
            guard let network = IPNetwork(text) else { throw CNIError(.invalidNetworkConfig, "subnet.env: \(key)=\(text) is not a CIDR") }
            return network
        }
        self.network = try cidr("FLANNEL_NETWORK")
        self.subnet = try cidr("FLANNEL_SUBNET")
        if let text = values["FLANNEL_MTU"] {
            guard let mtu = Int(text), (68...65535).contains(mtu) else {
                throw CNIError(.invalidNetworkConfig, "subnet.env: FLANNEL_MTU=\(text) is not a valid MTU")
            }
            self.mtu = mtu
        }
        self.ipMasq = values["FLANNEL_IPMASQ"] == "true"
        guard subnet.family == .v4, network.family == .v4 else {
            throw CNIError(.invalidNetworkConfig, "subnet.env: only IPv4 networks are supported")
        }
        guard network.contains(subnet.network) else {
            throw CNIError(.invalidNetworkConfig, "subnet.env: FLANNEL_SUBNET \(subnet) is not inside FLANNEL_NETWORK \(network)")
        }
        guard subnet.prefixLength <= 30 else {
            throw CNIError(.invalidNetworkConfig, "subnet.env: FLANNEL_SUBNET \(subnet) is too small for pods")
        }
    }

    /// Reads and parses the file. A missing file is code 11 (try again later): flanneld has not
    /// leased a subnet yet.
    static func load(path: String) throws(CNIError) -> SubnetEnvironment {
        let bytes: [UInt8]
        do { bytes = try FileAccess.read(path) } catch {
            throw CNIError(
                .tryAgainLater, "failed to load flannel subnet file \(path): \(error)",
                details: "is flanneld (or swift-flanneld) running on this node?")
        }
        return try SubnetEnvironment(parsing: String(decoding: bytes, as: UTF8.self))
    }
}

/// Everything ADD/DEL/CHECK need, resolved from the configuration and subnet.env.
struct FlannelSettings: Sendable {
    var networkName: String
    var dataDirectory: String
    var subnetFile: String
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
        subnetFile = options.subnetFile.flatMap { $0.isEmpty ? nil : $0 } ?? FlannelOptions.defaultSubnetFile
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

/// The node's addressing for pods, from subnet.env.
struct PodNetwork: Sendable {
    /// The node subnet, network form (`10.244.1.0/24`).
    var subnet: IPNetwork
    /// The pods' gateway on the bridge: the subnet's first host, with the subnet's length.
    var gateway: IPNetwork
    var clusterNetwork: IPNetwork
    var mtu: Int?

    init(_ environment: SubnetEnvironment, settings: FlannelSettings) {
        subnet = environment.subnet.network
        let first = subnet.address.advanced(by: 1)!
        gateway = try! IPNetwork(address: first, prefixLength: subnet.prefixLength)
        clusterNetwork = environment.network.network
        mtu = settings.mtu ?? environment.mtu
    }
}
