import NetPrimitives
import Netlink
import Nftables
import Policy

extension NftablesPolicyCompiler {
    /// Base chains and their dispatch maps.
    func addDispatch(to contents: inout NftablesTableContents, program: PolicyProgram) {
        typealias Names = NftablesPolicyCompiler.Names
        let egress = NftablesChain.base(table: table, name: Names.egressChain, hook: .forward, priority: priority)
        let ingress = NftablesChain.base(table: table, name: Names.ingressChain, hook: .forward, priority: priority + 10)
        let nodeEgress = NftablesChain.base(table: table, name: Names.nodeEgressChain, hook: .input, priority: priority)
        contents.chains += [egress, ingress, nodeEgress]

        let egressInterfaces = NftablesSet(table: table, name: Names.egressInterfaces, keyType: [.interfaceName], mapData: .verdict)
        let ingressInterfaces = NftablesSet(table: table, name: Names.ingressInterfaces, keyType: [.interfaceName], mapData: .verdict)
        contents.sets += [egressInterfaces, ingressInterfaces]
        var egressByInterface: [NftablesSetElement] = []
        var ingressByInterface: [NftablesSetElement] = []
        var egressByAddress: [IPAddress.Family: [NftablesSetElement]] = [.v4: [], .v6: []]
        var ingressByAddress: [IPAddress.Family: [NftablesSetElement]] = [.v4: [], .v6: []]
        for endpoint in program.endpoints {
            if !endpoint.egress.isEmpty {
                let verdict = NftablesVerdict.jump(endpoint.chainName(.egress))
                if let interface = endpoint.interfaceName {
                    egressByInterface.append(NftablesSetElement(.interfaceName(interface.description), verdict: verdict))
                } else {
                    for address in endpoint.addresses { egressByAddress[address.family]!.append(NftablesSetElement(.address(address), verdict: verdict)) }
                }
            }
            if !endpoint.ingress.isEmpty {
                let verdict = NftablesVerdict.jump(endpoint.chainName(.ingress))
                if let interface = endpoint.interfaceName {
                    ingressByInterface.append(NftablesSetElement(.interfaceName(interface.description), verdict: verdict))
                } else {
                    for address in endpoint.addresses { ingressByAddress[address.family]!.append(NftablesSetElement(.address(address), verdict: verdict)) }
                }
            }
        }
        contents.elements[Names.egressInterfaces] = egressByInterface
        contents.elements[Names.ingressInterfaces] = ingressByInterface

        let conntrack: (NftablesChain) -> [NftablesRule] = { chain in
            [NftablesRule(in: chain, matches: [.connectionState([.established, .related])], statements: [.accept]),
             NftablesRule(in: chain, matches: [.connectionState(.invalid)], statements: [.drop])]
        }
        for chain in [egress, nodeEgress] {
            contents.rules += conntrack(chain)
            if chain == nodeEgress {
                // IPv6 neighbour discovery between a pod and its node (conntrack leaves it
                // untracked) is never policy's business, as ARP is not for IPv4.
                contents.rules.append(NftablesRule(
                    in: chain, matches: [.l4Protocol(.icmpv6), .connectionState(.untracked)], statements: [.accept],
                    comment: "neighbour discovery"))
            }
            contents.rules.append(NftablesRule(in: chain, statements: [.verdictMap([.inputInterfaceName], map: Names.egressInterfaces)]))
        }
        contents.rules += conntrack(ingress)
        contents.rules.append(NftablesRule(in: ingress, statements: [.verdictMap([.outputInterfaceName], map: Names.ingressInterfaces)]))
        // Address-keyed maps exist only when some endpoint has no interface of its own.
        for family in [IPAddress.Family.v4, .v6] {
            let keyType: NftablesDataType = family == .v4 ? .ipv4Address : .ipv6Address
            if let elements = egressByAddress[family], !elements.isEmpty {
                let map = NftablesSet(table: table, name: Names.egressAddresses(family), keyType: [keyType], mapData: .verdict)
                contents.sets.append(map)
                contents.elements[map.name] = elements
                for chain in [egress, nodeEgress] {
                    contents.rules.append(NftablesRule(in: chain, statements: [.verdictMap([.sourceAddress(family)], map: map.name)]))
                }
            }
            if let elements = ingressByAddress[family], !elements.isEmpty {
                let map = NftablesSet(table: table, name: Names.ingressAddresses(family), keyType: [keyType], mapData: .verdict)
                contents.sets.append(map)
                contents.elements[map.name] = elements
                contents.rules.append(NftablesRule(in: ingress, statements: [.verdictMap([.destinationAddress(family)], map: map.name)]))
            }
        }
    }

    /// The chains of one endpoint: one per isolated direction, plus one per further tier.
    func addEndpoint(
        _ endpoint: CompiledEndpoint, to contents: inout NftablesTableContents, passRules: [String: [[NftablesMatch]]]
    ) throws(PolicyError) {
        for direction in PolicyDirection.allCases {
            let tiers = endpoint.tiers(direction)
            guard !tiers.isEmpty else { continue }
            let base = endpoint.chainName(direction)
            let chainNames = tiers.indices.map { $0 == 0 ? base : "\(base)-\($0)" }
            for (position, tier) in tiers.enumerated() {
                let chain = NftablesChain(table: table, name: chainNames[position])
                contents.chains.append(chain)
                if position == 0, direction == .ingress {
                    for family in [IPAddress.Family.v4, .v6] {
                        let node = endpoint.nodeAddresses.filter { $0.family == family }
                        guard !node.isEmpty else { continue }
                        contents.rules.append(NftablesRule(
                            in: chain,
                            // One address is a plain comparison (what nft makes of a one-element set).
                            matches: [node.count == 1 ? .sourceAddress(IPNetwork(host: node[0]))
                                : .field(.sourceAddress(family), in: node.map { .address($0) })],
                            statements: [.accept], comment: "from own node"))
                    }
                }
                let afterPass: NftablesStatement = position + 1 < tiers.count ? .goto(chainNames[position + 1]) : .accept
                for policyChain in tier.policies {
                    let name = "\(policyChain)-\(direction == .ingress ? "i" : "e")"
                    contents.rules.append(NftablesRule(in: chain, statements: [.jump(name)]))
                    for matches in passRules[name] ?? [] {
                        contents.rules.append(NftablesRule(in: chain, matches: matches, statements: [afterPass], comment: "pass \(policyChain)"))
                    }
                }
                contents.rules.append(NftablesRule(in: chain, statements: [.drop], comment: "end of tier \(Self.comment(tier.name))"))
            }
        }
    }
}

/// Turns one ``CompiledRule``'s conditions into nftables matches (several rules when a port
/// condition has no protocol: one per port-carrying protocol).
struct RuleLowering {
    let table: NftablesTable
    let setFamilies: [String: IPAddress.Family]

    func matches(of rule: CompiledRule) throws(PolicyError) -> [[NftablesMatch]] {
        let needsPorts = !rule.sourcePorts.isEmpty || !rule.destinationPorts.isEmpty
            || rule.sourceNamedPorts != nil || rule.destinationNamedPorts != nil
        var protocols: [NftablesTransportProtocol?] = []
        if let transport = rule.protocol {
            protocols = [try NftablesPolicyCompiler.transport(transport)]
        } else {
            protocols = needsPorts ? [.tcp, .udp, .sctp] : [nil]
        }
        var result: [[NftablesMatch]] = []
        for transport in protocols {
            result.append(try matches(of: rule, transport: transport))
        }
        return result
    }

    private func family(of set: String) throws(PolicyError) -> IPAddress.Family {
        guard let family = setFamilies[set] else { throw PolicyError(.invalidValue, "rule refers to unknown set \(set)") }
        return family
    }

    private func matches(of rule: CompiledRule, transport: NftablesTransportProtocol?) throws(PolicyError) -> [NftablesMatch] {
        var matches: [NftablesMatch] = []
        var hasFamilyMatch = false
        var hasPortMatch = false
        func address(_ condition: AddressMatch, source: Bool) throws(PolicyError) -> NftablesMatch {
            let (name, negated) = switch condition {
            case let .inSet(name): (name, false)
            case let .notInSet(name): (name, true)
            }
            let family = try family(of: name)
            hasFamilyMatch = true
            return .field(source ? .sourceAddress(family) : .destinationAddress(family), inSet: name, negated: negated)
        }
        if let source = rule.source { matches.append(try address(source, source: true)) }
        if let destination = rule.destination { matches.append(try address(destination, source: false)) }
        if let transport, transport != .icmp, transport != .icmpv6 {
            for (ranges, isSource) in [(rule.sourcePorts, true), (rule.destinationPorts, false)] where !ranges.isEmpty {
                hasPortMatch = true
                if ranges.count == 1 {
                    let range = ranges[0].lowerBound...ranges[0].upperBound
                    matches.append(isSource ? .sourcePort(transport, range) : .destinationPort(transport, range))
                } else {
                    let values = ranges.map { range -> NftablesValue in
                        range.lowerBound == range.upperBound ? .port(range.lowerBound) : .portRange(range.lowerBound...range.upperBound)
                    }
                    matches.append(.field(isSource ? .sourcePort(transport) : .destinationPort(transport), in: values))
                }
            }
            for (set, isSource) in [(rule.sourceNamedPorts, true), (rule.destinationNamedPorts, false)] {
                guard let set else { continue }
                hasPortMatch = true
                hasFamilyMatch = true
                let family = try family(of: set)
                let fields: [NftablesSelector] = isSource
                    ? [.sourceAddress(family), .l4Protocol, .sourcePort(transport)]
                    : [.destinationAddress(family), .l4Protocol, .destinationPort(transport)]
                matches.append(.inSet(fields, set: set, negated: false))
            }
        }
        // Port matches carry their protocol; otherwise say it.
        if let transport, !hasPortMatch { matches.insert(.l4Protocol(transport), at: 0) }
        if let family = rule.family, !hasFamilyMatch {
            let any: IPNetwork = family == .v4 ? "0.0.0.0/0" : "::/0"
            matches.insert(.sourceAddress(any), at: 0)
        }
        return matches
    }
}
