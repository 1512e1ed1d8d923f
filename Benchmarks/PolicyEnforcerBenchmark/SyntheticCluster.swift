import NetPrimitives
import Policy

/// A synthetic cluster and policy set of a given size (pods as data only; no namespaces):
/// 20 namespaces, 50 apps, three tiers, named ports; four Kubernetes policies for each Calico
/// global policy (with Deny, Pass, nets and port ranges).
public struct SyntheticCluster {
    public var cluster: ClusterState
    public var policies: PolicySet
    public var endpoints: [Endpoint]
    /// The policies as the YAML text they were parsed from.
    public var yamlText: String
    public var yamlBytes: Int { yamlText.utf8.count }

    /// Endpoints are spread over `nodes` nodes (`node0`…, 192.168.0.1…).
    public init(endpoints endpointCount: Int, policies policyCount: Int, nodes nodeCount: Int = 1) throws {
        let namespaces = 20, apps = 50
        var endpoints: [Endpoint] = []
        for index in 0..<endpointCount {
            let address = IPAddress.v4(IPv4Address(10, 244, UInt8(index / 250), UInt8(index % 250 + 1)))
            endpoints.append(Endpoint(
                namespace: "ns\(index % namespaces)", name: "pod\(index)", addresses: [address],
                interfaceName: try InterfaceName("cali\(index)"),
                labels: ["app": "app\(index % apps)", "tier": ["front", "back", "db"][index % 3]],
                namespaceLabels: ["team": "team\(index % namespaces % 4)"],
                namedPorts: [NamedPort(name: "http", port: UInt16(8000 + index % 3))], node: "node\(index % nodeCount)"))
        }
        self.endpoints = endpoints
        cluster = try ClusterState(endpoints: endpoints, nodes: (0..<nodeCount).map {
            ClusterNode(name: "node\($0)", addresses: [.v4(IPv4Address(192, 168, 0, UInt8($0 + 1)))])
        })
        var documents: [String] = []
        for index in 0..<policyCount {
            if index % 5 == 4 {
                documents.append("""
                    apiVersion: projectcalico.org/v3
                    kind: GlobalNetworkPolicy
                    metadata: {name: g\(index)}
                    spec:
                      order: \(index)
                      selector: app == 'app\(index % apps)' && tier in {'front', 'back'}
                      ingress:
                      - {action: Deny, protocol: TCP, source: {nets: [203.0.113.0/24]}, destination: {ports: [22, "6000:6100"]}}
                      - {action: Allow, source: {selector: has(app), namespaceSelector: team == 'team\(index % 4)'}}
                      egress:
                      - {action: Pass, destination: {notNets: [10.244.0.0/16]}}
                    """)
            } else {
                documents.append("""
                    apiVersion: networking.k8s.io/v1
                    kind: NetworkPolicy
                    metadata: {name: p\(index), namespace: ns\(index % namespaces)}
                    spec:
                      podSelector: {matchLabels: {app: app\(index % apps)}}
                      policyTypes: [Ingress, Egress]
                      ingress:
                      - from:
                        - podSelector: {matchLabels: {app: app\((index + 1) % apps)}}
                        - namespaceSelector: {matchLabels: {team: team\(index % 4)}}
                          podSelector: {matchExpressions: [{key: tier, operator: In, values: [front]}]}
                        ports: [{port: http}, {port: 9000, endPort: 9100}]
                      egress:
                      - to: [{ipBlock: {cidr: 10.0.0.0/8, except: [10.244.\(index % 4).0/24]}}]
                        ports: [{protocol: UDP, port: 53}]
                    """)
            }
        }
        yamlText = documents.joined(separator: "\n---\n")
        policies = try PolicySet(parsing: yamlText)
    }
}
