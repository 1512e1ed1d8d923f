#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import Datastore
import IPAM
import NetPrimitives

/// The network configuration swift-ipam reads from stdin: the usual `name`, `cniVersion`,
/// `runtimeConfig.ips`, `args.cni.ips`, and its own `ipam` section.
struct IPAMNetworkConfiguration: Decodable {
    var cniVersion: String?
    var name: String
    var ipam: IPAMPluginOptions
    /// Calico's `etcd_ca_cert_file`, `etcd_cert_file`, `etcd_key_file` (and `etcd_username`,
    /// `etcd_password`) beside `datastore` in the `ipam` section.
    var etcdSecurity: EtcdSecurity
    var hostLocal: HostLocalConfiguration
    var runtimeConfig: RuntimeConfig?
    var args: Arguments?
    var validAttachments: [ValidAttachment]

    struct RuntimeConfig: Decodable { var ips: [String]? }
    struct Arguments: Decodable {
        struct CNI: Decodable { var ips: [String]? }
        var cni: CNI?
    }
    struct ValidAttachment: Decodable {
        var containerID: String
        var ifname: String
    }

    private enum Keys: String, CodingKey {
        case cniVersion, name, ipam, runtimeConfig, args
        case validAttachments = "cni.dev/valid-attachments"
    }

    init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: Keys.self)
        cniVersion = try container.decodeIfPresent(String.self, forKey: .cniVersion)
        name = try container.decode(String.self, forKey: .name)
        ipam = try container.decode(IPAMPluginOptions.self, forKey: .ipam)
        etcdSecurity = ipam.datastore?.hasPrefix("etcd:") == true ? try container.decode(EtcdSecurity.self, forKey: .ipam) : .none
        hostLocal = try container.decode(HostLocalConfiguration.self, forKey: .ipam)
        runtimeConfig = try container.decodeIfPresent(RuntimeConfig.self, forKey: .runtimeConfig)
        args = try container.decodeIfPresent(Arguments.self, forKey: .args)
        validAttachments = try container.decodeIfPresent([ValidAttachment].self, forKey: .validAttachments) ?? []
    }

    static func decode(_ bytes: [UInt8]) throws -> IPAMNetworkConfiguration {
        try JSONDecoder().decode(IPAMNetworkConfiguration.self, from: Data(bytes))
    }

    /// Requested addresses from `runtimeConfig.ips`, `args.cni.ips` and `CNI_ARGS` `IP=` (a
    /// comma-separated list), with or without a prefix length.
    func requestedAddresses(cniArguments: String) throws -> [IPAddress] {
        var texts = (runtimeConfig?.ips ?? []) + (args?.cni?.ips ?? [])
        for pair in cniArguments.split(separator: ";") {
            let parts = pair.split(separator: "=", maxSplits: 1)
            if parts.count == 2, parts[0] == "IP" { texts += parts[1].split(separator: ",").map(String.init) }
        }
        return try texts.map { text in
            let address = text.split(separator: "/").first.map(String.init) ?? text
            guard let parsed = IPAddress(address) else {
                throw IPAMError(.invalidConfiguration, "invalid requested IP \"\(text)\"")
            }
            return parsed
        }.reduce(into: []) { if !$0.contains($1) { $0.append($1) } }
    }
}

/// swift-ipam's own keys in the `ipam` section.
struct IPAMPluginOptions: Decodable {
    enum Mode: String, Decodable {
        case hostLocal = "host-local"
        case subnetLease = "subnet-lease"
        case block
    }

    var mode: Mode?
    /// subnet-lease: the cluster network and subnet length (flannel's Network/SubnetLen).
    var network: IPNetwork?
    var subnetLen: Int?
    var subnetMin: IPAddress?
    var subnetMax: IPAddress?
    /// subnet-lease: the flannel key prefix (default /coreos.com/network).
    var prefix: String?
    /// subnet-lease: lease TTL in seconds (default 24 h).
    var leaseTTL: Int64?
    /// subnet-lease and block: `file:DIR` or `etcd:URL[,URL…]`.
    var datastore: String?
    /// subnet-lease and block: default: the host name.
    var nodeName: String?
    /// block
    var pools: [BlockPool]?
    var strictAffinity: Bool?

    static let defaultDatastore = "file:/var/lib/swiftcni/store"
}
