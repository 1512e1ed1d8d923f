import AgentHTTP
import CNISpec
import Foundation
import IPAM

/// `--net-config-path` (flannel's `net-conf.json`, default `/etc/kube-flannel/net-conf.json`):
/// the network configuration of the kube subnet manager, the same JSON as `<prefix>/config`
/// in etcd mode (`{"Network":"10.244.0.0/16","Backend":{"Type":"vxlan"}}`).
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
        guard configuration.Network.family == .v4 else {
            throw AgentError(.invalidConfiguration, "network configuration \(path): Network \(configuration.Network) must be IPv4")
        }
        return (configuration, try BackendConfiguration(configuration.Backend))
    }
}
