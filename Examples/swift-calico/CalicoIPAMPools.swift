import CNISpec
import IPAM
import NetPrimitives

/// Calico's boolean strings (`"assign_ipv6": "true"`); a JSON boolean is accepted too.
struct CalicoFlag: Decodable, Equatable {
    var value: Bool

    init(_ value: Bool) { self.value = value }

    init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if let flag = try? container.decode(Bool.self) {
            value = flag
            return
        }
        switch try container.decode(String.self).lowercased() {
        case "true": value = true
        case "false": value = false
        case let other:
            throw DecodingError.dataCorruptedError(in: container, debugDescription: "expected \"true\" or \"false\", got \"\(other)\"")
        }
    }
}

extension BlockIPAMOptions {
    /// The pools the block IPAM allocates from, one address per family:
    ///
    /// - `ipv4_pools` / `ipv6_pools` (CIDRs, as Calico's names) choose the pools of their family,
    ///   each with the `blockSize` of the `pools` entry of the same CIDR, else the family's
    ///   default (/26, /122); without them, the `pools` entries of that family;
    /// - `assign_ipv4` (default `"true"`) and `assign_ipv6` switch a family off with `"false"`.
    ///   Calico's `assign_ipv6` defaults to `"false"` because its pools are cluster resources;
    ///   here the configuration lists them, so an IPv6 pool listed is used unless
    ///   `assign_ipv6` is `"false"`, and `"true"` with no IPv6 pool is an error.
    func effectivePools() throws(CNIError) -> [BlockPool] {
        let listed = pools ?? []
        func chosen(_ family: IPAddress.Family, _ names: [IPNetwork]?, _ flag: CalicoFlag?, _ key: String) throws(CNIError) -> [BlockPool] {
            if flag?.value == false { return [] }
            var result = listed.filter { $0.cidr.family == family }
            if let names {
                result = []
                for cidr in names {
                    guard cidr.family == family else {
                        throw CNIError(.invalidNetworkConfig, "ipam.\(key) lists \(cidr), not an IPv\(family == .v4 ? 4 : 6) pool")
                    }
                    result.append(listed.first { $0.cidr == cidr } ?? BlockPool(cidr: cidr))
                }
            }
            if flag?.value == true && result.isEmpty {
                throw CNIError(.invalidNetworkConfig, "ipam.assign_ipv\(family == .v4 ? 4 : 6) is \"true\" but no IPv\(family == .v4 ? 4 : 6) pool is configured")
            }
            return result
        }
        let result = try chosen(.v4, ipv4Pools, assignIPv4, "ipv4_pools") + chosen(.v6, ipv6Pools, assignIPv6, "ipv6_pools")
        guard !result.isEmpty else {
            throw CNIError(.invalidNetworkConfig, "ipam type \(CalicoOptions.inProcessIPAMType) needs a pool (\"pools\", \"ipv4_pools\" or \"ipv6_pools\")")
        }
        return result
    }
}
