/// The conversions between result layouts (see ``AnyCNIResult/converted(to:)``).
enum ResultConversion {
    static func from020(_ from: CNIResult020, to version: CNIVersion) -> CNIResult040 {
        var result = CNIResult040(cniVersion: version, dns: from.dns)
        if let ip4 = from.ip4 {
            result.ips.append(.init(version: "4", address: ip4.ip, gateway: ip4.gateway))
            result.routes += ip4.routes
        }
        if let ip6 = from.ip6 {
            result.ips.append(.init(version: "6", address: ip6.ip, gateway: ip6.gateway))
            result.routes += ip6.routes
        }
        return result
    }

    static func to020(_ from: CNIResult040, to version: CNIVersion) throws(CNIError) -> CNIResult020 {
        var result = CNIResult020(cniVersion: version, dns: from.dns)
        for ip in from.ips {
            if ip.version == "4", result.ip4 == nil {
                result.ip4 = .init(ip: ip.address, gateway: ip.gateway)
            } else if ip.version == "6", result.ip6 == nil {
                result.ip6 = .init(ip: ip.address, gateway: ip.gateway)
            }
            if result.ip4 != nil, result.ip6 != nil { break }
        }
        for route in from.routes {
            if route.destination.family == .v4, result.ip4 != nil {
                result.ip4?.routes.append(route.destinationAndGatewayOnly)
            } else if route.destination.family == .v6, result.ip6 != nil {
                result.ip6?.routes.append(route.destinationAndGatewayOnly)
            }
        }
        guard result.ip4 != nil || result.ip6 != nil else {
            throw CNIError(.decodingFailure, "cannot convert: no valid IP addresses")
        }
        return result
    }

    static func from040(_ from: CNIResult040, to version: CNIVersion) -> CNIResult {
        CNIResult(
            cniVersion: version,
            interfaces: from.interfaces.map { .init(name: $0.name, mac: $0.mac, sandbox: $0.sandbox) },
            ips: from.ips.map { .init(address: $0.address, gateway: $0.gateway, interface: $0.interface) },
            routes: from.routes,
            dns: from.dns)
    }

    static func to040(_ from: CNIResult, to version: CNIVersion) -> CNIResult040 {
        CNIResult040(
            cniVersion: version,
            interfaces: from.interfaces.map { .init(name: $0.name, mac: $0.mac, sandbox: $0.sandbox) },
            ips: from.ips.map {
                .init(version: $0.address.family == .v4 ? "4" : "6", interface: $0.interface, address: $0.address, gateway: $0.gateway)
            },
            routes: from.routes,
            dns: from.dns)
    }
}
