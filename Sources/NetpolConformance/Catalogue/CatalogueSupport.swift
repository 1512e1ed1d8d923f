import NetPrimitives

// Shorthands the catalogue files share: the nine pods, truth tables built by editing a
// starting table, and NetworkPolicy YAML from a namespace, a name and a `spec` body.

extension NetpolPod {
    static let xa = NetpolPod("x", "a")
    static let xb = NetpolPod("x", "b")
    static let xc = NetpolPod("x", "c")
    static let ya = NetpolPod("y", "a")
    static let yb = NetpolPod("y", "b")
    static let yc = NetpolPod("y", "c")
    static let za = NetpolPod("z", "a")
    static let zb = NetpolPod("z", "b")
    static let zc = NetpolPod("z", "c")
}

extension Reachability {
    /// Upstream's `NewReachability(pods, connected)` followed by the edits of `edit`.
    static func table(_ connected: Bool = true, _ edit: (inout Reachability) -> Void = { _ in }) -> Reachability {
        var table = Reachability(allConnected: connected)
        edit(&table)
        return table
    }
}

extension NetpolStep {
    /// A probe of `port` over TCP and UDP expecting the same table: what a case whose
    /// policies name no port or protocol checks.
    static func probeTCPAndUDP(_ reachability: Reachability, port: Int = 80) -> NetpolStep {
        .probe(port: port, protocols: [.tcp, .udp], reachability)
    }
}

/// Builds `networking.k8s.io/v1` NetworkPolicy documents.
enum NetpolYAML {
    /// One NetworkPolicy document: `spec` is the YAML body of the policy's `spec`, written
    /// without indentation (this indents it).
    static func policy(_ namespace: String, _ name: String, spec: String) -> String {
        let body = spec.split(separator: "\n", omittingEmptySubsequences: false)
            .filter { !$0.allSatisfy(\.isWhitespace) }
            .map { "  " + $0 }
            .joined(separator: "\n")
        return """
            apiVersion: networking.k8s.io/v1
            kind: NetworkPolicy
            metadata:
              name: \(name)
              namespace: \(namespace)
            spec:
            \(body)
            """
    }

    /// Several documents in one text, separated by `---`.
    static func documents(_ documents: String...) -> String { documents.joined(separator: "\n---\n") }

    /// The `/prefixLength` network around `address`, host bits cleared (upstream's
    /// `makeLargeCIDRForIP` uses `/4`).
    static func network(around address: String, prefixLength: Int) -> String {
        guard let network = try? IPNetwork(parsing: "\(address)/\(prefixLength)") else { return "\(address)/\(prefixLength)" }
        return network.network.description
    }
}
