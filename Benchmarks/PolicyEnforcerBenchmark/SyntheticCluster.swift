import NetPrimitives
import Policy

/// A synthetic cluster and policy set of a given size (pods as data only; no namespaces):
/// 20 namespaces, 50 apps, three tiers, named ports; four Kubernetes policies for each Calico
/// global policy (with Deny, Pass, nets and port ranges).
struct SyntheticCluster {
    var cluster: ClusterState
    var policies: PolicySet
    var yamlBytes: Int

    init(endpoints endpointCount: Int, policies policyCount: Int) throws {
        let namespaces = 20, apps = 50
        var endpoints: [Endpoint] = []
        for index in 0..<endpointCount {
            let address = IPAddress.v4(IPv4Address(10, 244, UInt8(index / 250), UInt8(index % 250 + 1)))
            endpoints.append(Endpoint(
                namespace: "ns\(index % namespaces)", name: "pod\(index)", addresses: [address],
                interfaceName: try InterfaceName("cali\(index)"),
                labels: ["app": "app\(index % apps)", "tier": ["front", "back", "db"][index % 3]],
                namespaceLabels: ["team": "team\(index % namespaces % 4)"],
                namedPorts: [NamedPort(name: "http", port: UInt16(8000 + index % 3))], node: "node0"))
        }
        cluster = try ClusterState(endpoints: endpoints, nodes: [ClusterNode(name: "node0", addresses: ["192.168.0.1"])])
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
        let text = documents.joined(separator: "\n---\n")
        yamlBytes = text.utf8.count
        policies = try PolicySet(parsing: text)
    }
}
