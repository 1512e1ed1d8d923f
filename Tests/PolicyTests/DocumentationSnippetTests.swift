import NetPrimitives
import Testing
import Policy

/// The landing page snippet of Policy.docc, verbatim except for `print`.
@Suite struct DocumentationSnippetTests {
    @Test func landingPageSnippetRuns() throws {
        let policies = try PolicySet(parsing: """
            apiVersion: networking.k8s.io/v1
            kind: NetworkPolicy
            metadata: {name: db-from-api, namespace: shop}
            spec:
              podSelector: {matchLabels: {app: db}}
              ingress:
              - from: [{podSelector: {matchLabels: {app: api}}}]
                ports: [{port: postgres}]
            """)

        let cluster = try ClusterState(
            endpoints: [
                Endpoint(namespace: "shop", name: "db-0", addresses: ["10.244.1.5"], labels: ["app": "db"],
                         namedPorts: [NamedPort(name: "postgres", port: 5432)], node: "node-1"),
                Endpoint(namespace: "shop", name: "api-0", addresses: ["10.244.1.6"], labels: ["app": "api"], node: "node-1"),
                Endpoint(namespace: "shop", name: "web-0", addresses: ["10.244.2.7"], labels: ["app": "web"], node: "node-2"),
            ],
            nodes: [ClusterNode(name: "node-1", addresses: ["192.168.0.11"])])

        let evaluator = PolicyEvaluator(policies: policies, cluster: cluster)
        let fromAPI = try evaluator.explain(Packet(from: .pod("shop", "api-0"), to: .pod("shop", "db-0"), port: 5432))
        let fromWeb = try evaluator.explain(Packet(from: .pod("shop", "web-0"), to: .pod("shop", "db-0"), port: 5432))
        #expect(fromAPI.description.contains("ALLOWED") && fromAPI.description.contains("allowed by NetworkPolicy shop/db-from-api ingress rule 0"))
        #expect(fromWeb.description.contains("DENIED") && fromWeb.description.contains("no rule matched in tier default of NetworkPolicy shop/db-from-api"))
        #expect(fromAPI.isAllowed && !fromWeb.isAllowed)

        let program = PolicyProgram(compiling: policies, cluster: cluster, node: "node-1")
        #expect(program.endpoints.map(\.id.name) == ["api-0", "db-0"])
        #expect(program.policies[0].ingress.count == 2)  // one rule per family
    }
}
