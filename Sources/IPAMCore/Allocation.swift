import CNISpec
import NetPrimitives

/// What an IPAM ADD hands back, independent of the CNI result version: addresses (with the
/// prefix of their subnet and the gateway), routes and DNS. The plugin turns it into a CNI result.
public struct IPAMAllocation: Hashable, Sendable {
    public struct Address: Hashable, Sendable {
        /// The address with its subnet's prefix: 10.244.1.5/24.
        public var address: IPNetwork
        public var gateway: IPAddress?

        public init(address: IPNetwork, gateway: IPAddress?) {
            self.address = address
            self.gateway = gateway
        }
    }

    public var addresses: [Address]
    public var routes: [CNIRoute]
    public var dns: DNS

    public init(addresses: [Address], routes: [CNIRoute] = [], dns: DNS = DNS()) {
        self.addresses = addresses
        self.routes = routes
        self.dns = dns
    }
}

/// The former name of CNISpec's `DNS`, the one type for `dns` in configurations, results and
/// allocations.
@available(*, deprecated, renamed: "DNS", message: "IPAM and CNISpec share one DNS type: use DNS")
public typealias DNSSettings = DNS

extension DNS {
    /// Parses resolv.conf text (`nameserver`, `domain`, `search`, `options`; comments with `#`
    /// or `;`), as host-local's `resolvConf` key reads it.
    public init(resolvConf text: String) {
        self.init()
        for line in text.split(whereSeparator: \.isNewline) {
            let fields = line.split(whereSeparator: { $0 == " " || $0 == "\t" })
            guard let keyword = fields.first, !keyword.hasPrefix("#"), !keyword.hasPrefix(";") else { continue }
            let values = fields.dropFirst().map(String.init)
            switch keyword {
            case "nameserver": nameservers += values.prefix(1)
            case "domain": domain = values.first
            case "search": search = values
            case "options": options += values
            default: break
            }
        }
    }
}

/// One attachment the runtime still considers valid (`cni.dev/valid-attachments` in a GC call).
public struct Attachment: Hashable, Sendable {
    public var containerID: String
    public var interfaceName: String

    public init(containerID: String, interfaceName: String) {
        self.containerID = containerID
        self.interfaceName = interfaceName
    }
}
