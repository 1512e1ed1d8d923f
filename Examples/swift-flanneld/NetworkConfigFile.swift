import AgentHTTP
import CNISpec
import Foundation
import IPAM

/// `--net-config-path` (flannel's `net-conf.json`, default `/etc/kube-flannel/net-conf.json`):
/// the network configuration of the kube subnet manager, the same JSON as `<prefix>/config`
/// in etcd mode (`{"Network":"10.244.0.0/16","Backend":{"Type":"vxlan"}}`, with
/// `"EnableIPv6":true,"IPv6Network":"fd00:10:244::/56"` for dual stack).
enum NetworkConfigFile {
    static let defaultPath = "/etc/kube-flannel/net-conf.json"

    static func load(_ path: String) throws(AgentError) -> (SubnetLeaseConfiguration, BackendConfiguration) {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw AgentError(.invalidConfiguration, "network configuration \(path) does not exist or cannot be read")
        }
        let configuration: SubnetLeaseConfiguration
        do {
            configuration = try JSONDecoder().decode(SubnetLeaseConfiguration.self, from: data)
        } catch {
            throw AgentError(.invalidConfiguration, "network configuration \(path) does not decode: \(error)")
        }
        // `EnableIPv6` with `IPv6Network` (dual stack), `EnableIPv4: false` (IPv6 only), as in the store.
        do { try configuration.validateFamilies() } catch {
            throw AgentError(.invalidConfiguration, "network configuration \(path): \(error.message)")
        }
        return (configuration, try BackendConfiguration(configuration.Backend))
    }
}
