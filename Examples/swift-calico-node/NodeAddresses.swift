import ArgumentParser
import Foundation
import Logging
import Netlink
import NetPrimitives
import Routing

/// The node's BGP addresses, as calico/node's `IP` and `IP6` choose them: an address,
/// `autodetect` (``UnderlayDetection`` with `IP_AUTODETECTION_METHOD`,
/// `IP6_AUTODETECTION_METHOD`) or `none`. `IP` defaults to `autodetect`, `IP6` to `none`.
///
/// The primary address (IPv4 when there is one) is the one in the node record's
/// `addresses[0]`, the one BGP sessions run between, and the router ID unless `bgp.routerID`
/// says otherwise. A dual-stack node's sessions are IPv4 and carry IPv6 unicast too (MP-BGP,
/// next hop the node's IPv6 address); an IPv6-only node's run over IPv6.
struct NodeAddresses: Sendable, Equatable {
    /// With its prefix length (Calico's node record keeps CIDRs: `ipv4Address`, `ipv6Address`).
    var ipv4: IPNetwork?
    var ipv6: IPNetwork?

    /// The address BGP sessions run between.
    var primary: IPAddress { (ipv4 ?? ipv6)!.address }
    var ipv4Address: IPv4Address? { ipv4?.address.ipv4 }
    var ipv6Address: IPv6Address? { ipv6?.address.ipv6 }
    /// Every address, IPv4 first.
    var all: [IPAddress] { [ipv4, ipv6].compactMap { $0?.address } }

    /// `IP` / `IP6`'s values.
    enum Choice: Equatable {
        case address(IPAddress)
        case autodetect
        case none

        init(_ text: String, family: IPAddress.Family, option: String) throws {
            switch text.lowercased() {
            case "autodetect": self = .autodetect
            case "none", "": self = .none
            default:
                guard let address = IPAddress(text.split(separator: "/").first.map(String.init) ?? text), address.family == family else {
                    throw ValidationError("invalid \(option) \(text): an IPv\(family == .v4 ? 4 : 6) address, autodetect or none")
                }
                self = .address(address)
            }
        }
    }

    /// The pod MTU for a node whose sessions run from `address`: the MTU of the interface that
    /// holds it minus the encapsulation's overhead (50 with a VXLAN pool on IPv4, nothing for
    /// routed pools), as Calico's node works it out for its plugin; nil when no interface
    /// holds the address.
    static func podMTU(address: IPAddress, vxlan: Bool, netlink: NetlinkHandle) throws -> Int? {
        let host = try IPNetwork(address: address, prefixLength: address.family.bitWidth)
        guard let chosen = try? UnderlayDetection.cidrs([host]).choose(in: try UnderlayInventory.read(netlink), family: address.family)
        else { return nil }
        return chosen.podMTU(vxlan ? .vxlan : .none)
    }

    /// Resolves `--address` / `--address6` (else `$IP` / `$IP6`) on the node's interfaces.
    static func resolve(
        address: String?, address6: String?, autodetectionMethod: String?, environment: [String: String], netlink: NetlinkHandle,
        logger: Logger
    ) throws -> NodeAddresses {
        let v4 = try Choice(address ?? environment["IP"] ?? "autodetect", family: .v4, option: "--address (IP)")
        let v6 = try Choice(address6 ?? environment["IP6"] ?? "none", family: .v6, option: "--address6 (IP6)")
        func resolve(_ choice: Choice, _ family: IPAddress.Family, method: String) throws -> IPNetwork? {
            switch choice {
            case .none: return nil
            case .address(let address):
                let prefix = try netlink.addresses(family: family).first { $0.network.address == address }?.network.prefixLength
                return try IPNetwork(address: address, prefixLength: prefix ?? family.bitWidth)
            case .autodetect:
                let chosen = try UnderlayDetection(calicoMethod: method).choose(in: try UnderlayInventory.read(netlink), family: family)
                // Routed (BGP) pods need no encapsulation: their MTU is the interface's.
                logger.info("autodetected \(chosen.address) on \(chosen.interface) (\(method)); pod MTU \(chosen.podMTU(.none))")
                return chosen.address
            }
        }
        let method4 = autodetectionMethod ?? environment["IP_AUTODETECTION_METHOD"] ?? "first-found"
        let method6 = environment["IP6_AUTODETECTION_METHOD"] ?? "first-found"
        let result = NodeAddresses(ipv4: try resolve(v4, .v4, method: method4), ipv6: try resolve(v6, .v6, method: method6))
        guard result.ipv4 != nil || result.ipv6 != nil else {
            throw ValidationError("the node needs an address: IP and IP6 are both none")
        }
        return result
    }

    /// The BGP identifier: `bgp.routerID`, else the IPv4 address, else (IPv6-only, as Calico's
    /// `CALICO_ROUTER_ID=hash`) a 32-bit FNV-1a hash of the node name.
    static func routerID(configured: String?, addresses: NodeAddresses, node: String) throws -> IPv4Address {
        if let configured {
            guard let parsed = IPv4Address(configured) else { throw ValidationError("invalid bgp.routerID \(configured)") }
            return parsed
        }
        if let v4 = addresses.ipv4Address { return v4 }
        var hash: UInt32 = 0x811c_9dc5
        for byte in node.utf8 {
            hash ^= UInt32(byte)
            hash &*= 0x0100_0193
        }
        return IPv4Address(hash == 0 ? 1 : hash)
    }
}

extension NodeConfiguration {
    /// calico/node's environment for its default pools: `CALICO_IPV4POOL_CIDR`,
    /// `CALICO_IPV6POOL_CIDR`, with `..._BLOCK_SIZE`, `..._NAT_OUTGOING` and
    /// `CALICO_IPV4POOL_VXLAN` (`Never`, `Always`, `CrossSubnet`). A pool the file lists already
    /// (same CIDR) is left as the file says.
    mutating func addEnvironmentPools(_ environment: [String: String]) throws {
        for family in ["IPV4", "IPV6"] {
            guard let text = environment["CALICO_\(family)POOL_CIDR"], !text.isEmpty else { continue }
            guard let cidr = try? IPNetwork(parsing: text), cidr.family == (family == "IPV4" ? .v4 : .v6) else {
                throw ValidationError("invalid CALICO_\(family)POOL_CIDR \(text)")
            }
            if (ipPools ?? []).contains(where: { $0.cidr == cidr }) { continue }
            var pool = IPPool(cidr: cidr)
            if let size = environment["CALICO_\(family)POOL_BLOCK_SIZE"] {
                guard let parsed = Int(size) else { throw ValidationError("invalid CALICO_\(family)POOL_BLOCK_SIZE \(size)") }
                pool.blockSize = parsed
            }
            if let nat = environment["CALICO_\(family)POOL_NAT_OUTGOING"] { pool.natOutgoing = nat.lowercased() == "true" }
            if family == "IPV4", let mode = environment["CALICO_IPV4POOL_VXLAN"] {
                guard let parsed = CalicoVXLAN.Mode(rawValue: mode) else { throw ValidationError("invalid CALICO_IPV4POOL_VXLAN \(mode)") }
                pool.vxlanMode = parsed
            }
            ipPools = (ipPools ?? []) + [pool]
        }
    }

    /// `FELIX_IPV6SUPPORT`: IPv6 forwarding and IPv6 masquerade (`natOutgoing` of IPv6 pools).
    /// Default: on when the node has an IPv6 address.
    static func ipv6Support(_ environment: [String: String], addresses: NodeAddresses) -> Bool {
        guard let text = environment["FELIX_IPV6SUPPORT"]?.lowercased() else { return addresses.ipv6 != nil }
        return text == "true"
    }
}
