/// Upstream cases with `ipBlock` peers built from pod addresses (read when the step runs):
/// a /32 (or /128) of one pod, and upstream's "large CIDR" (the /4 around a pod's address)
/// with that pod excepted. Their policies name no port or protocol, so every probe runs over
/// TCP and UDP with the same table.
extension NetpolCatalogue {
    static var ipBlockCases: [NetpolCase] {
        [
            NetpolCase(
                id: "egress-to-cidr", upstreamTitle: "should allow egress access to server in CIDR block",
                steps: [
                    .apply { environment in egressToCIDR(environment, target: .yb) },
                    .probeTCPAndUDP(.table {
                        $0.expectAllEgress(.xa, false)
                        $0.expect(from: .xa, to: .yb, true)
                    }),
                ]),
            NetpolCase(
                id: "egress-to-cidr-except", upstreamTitle: "should enforce except clause while egress access to server in CIDR block",
                isRepresentative: true,
                steps: [
                    .apply { environment in egressToLargeCIDRExceptXB(environment) },
                    .probeTCPAndUDP(.table { $0.expect(from: .xa, to: .xb, false) }),
                ]),
            NetpolCase(
                id: "cidr-and-except-overlap", upstreamTitle: "should ensure an IP overlapping both IPBlock.CIDR and IPBlock.Except is allowed",
                steps: [
                    .apply { environment in egressToLargeCIDRExceptXB(environment) },
                    .probeTCPAndUDP(.table { $0.expect(from: .xa, to: .xb, false) }),
                    // Upstream updates the same policy to allow x/b's address alone.
                    .apply { environment in egressToCIDR(environment, target: .xb) },
                    .probeTCPAndUDP(.table {
                        $0.expectAllEgress(.xa, false)
                        $0.expect(from: .xa, to: .xb, true)
                    }),
                ]),
        ]
    }

    /// The host prefix length of `address`: 32 for IPv4, 128 for IPv6.
    static func hostPrefixLength(_ address: String) -> Int { address.contains(":") ? 128 : 32 }

    /// x/a may send only to `target`'s address.
    static func egressToCIDR(_ environment: NetpolEnvironment, target: NetpolPod) -> String {
        let address = environment.address(of: target)
        return NetpolYAML.policy("x", "allow-client-a-via-cidr-egress-rule", spec: """
            podSelector:
              matchLabels: {pod: a}
            policyTypes: [Egress]
            egress:
            - to:
              - ipBlock:
                  cidr: \(address)/\(hostPrefixLength(address))
            """)
    }

    /// x/a may send to the /4 around x/b's address except x/b itself.
    static func egressToLargeCIDRExceptXB(_ environment: NetpolEnvironment) -> String {
        let address = environment.address(of: .xb)
        return NetpolYAML.policy("x", "allow-client-a-via-cidr-egress-rule", spec: """
            podSelector:
              matchLabels: {pod: a}
            policyTypes: [Egress]
            egress:
            - to:
              - ipBlock:
                  cidr: \(NetpolYAML.network(around: address, prefixLength: 4))
                  except:
                  - \(address)/\(hostPrefixLength(address))
            """)
    }
}
