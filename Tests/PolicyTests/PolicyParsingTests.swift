import NetPrimitives
import Testing
@testable import Policy

@Suite struct PolicyParsingTests {
    static let multiDocument = """
        # comment before the first document
        ---
        apiVersion: networking.k8s.io/v1
        kind: NetworkPolicy
        metadata:
          name: web
          namespace: shop
          labels: {ignored: "yes"}
        spec:
          podSelector:
            matchLabels: {app: web}
            matchExpressions:
            - {key: tier, operator: In, values: [front, edge]}
          ingress:
          - from:
            - ipBlock: {cidr: 172.17.0.0/16, except: [172.17.1.0/24]}
            - namespaceSelector: {matchLabels: {team: ops}}
              podSelector: {}
            ports:
            - port: 80
            - {protocol: UDP, port: dns}
            - {protocol: SCTP, port: 3868, endPort: 3870}
          egress:
          - to: [{podSelector: {matchLabels: {app: db}}}]
          someFutureField: {x: 1}
        ---
        ---
        apiVersion: projectcalico.org/v3
        kind: GlobalNetworkPolicy
        metadata: {name: deny-blocked}
        spec:
          order: 10.5
          selector: has(app) && !has(exempt)
          types: [Ingress, Egress]
          ingress:
          - action: Deny
            protocol: TCP
            source: {nets: [192.0.2.0/24], notNets: [192.0.2.8/29], ports: [1024, "2000:3000", http]}
          - action: Log
          egress:
          - action: Pass
            destination: {selector: "role in {'a', 'b'}", namespaceSelector: "env != 'prod'"}
        ---
        apiVersion: projectcalico.org/v3
        kind: Tier
        metadata: {name: platform}
        spec: {order: 50}
        """

    @Test func multiDocumentYAML() throws {
        let set = try PolicySet(parsing: Self.multiDocument)
        #expect(set.networkPolicies.count == 1 && set.calicoPolicies.count == 1)
        #expect(set.tiers == [CalicoTier(name: "platform", order: 50)])
        let web = set.networkPolicies[0]
        #expect(web.name == "web" && web.namespace == "shop")
        #expect(web.podSelector.matchLabels == ["app": "web"])
        #expect(web.podSelector.matchExpressions == [.init(key: "tier", operator: .in, values: ["front", "edge"])])
        #expect(web.policyTypes == [.ingress, .egress])
        #expect(web.ingress[0].peers == [
            .ipBlock(IPBlock(cidr: "172.17.0.0/16", except: ["172.17.1.0/24"])),
            .pods(podSelector: .everything, namespaceSelector: LabelSelector(matchLabels: ["team": "ops"])),
        ])
        #expect(web.ingress[0].ports == [
            NetworkPolicyPort(protocol: .tcp, port: .number(80)),
            NetworkPolicyPort(protocol: .udp, port: .named("dns")),
            NetworkPolicyPort(protocol: .sctp, port: .number(3868), endPort: 3870),
        ])
        #expect(web.egress[0].peers == [.pods(podSelector: LabelSelector(matchLabels: ["app": "db"]), namespaceSelector: nil)])

        let global = set.calicoPolicies[0]
        #expect(global.scope == .global && global.order == 10.5 && global.tier == "default")
        #expect(global.selector == .and(.has(key: "app"), .not(.has(key: "exempt"))))
        let deny = global.ingress[0]
        #expect(deny.action == .deny && deny.protocol == .tcp)
        #expect(deny.source.nets == ["192.0.2.0/24"] && deny.source.notNets == ["192.0.2.8/29"])
        #expect(deny.source.ports == [.range(PortRange(port: 1024)), .range(PortRange(2000, 3000)!), .named("http")])
        #expect(global.ingress[1].action == .log)
        #expect(global.egress[0].destination.selector == .in(key: "role", values: ["a", "b"]))
        #expect(global.egress[0].destination.namespaceSelector == .notEqual(key: "env", value: "prod"))
    }

    @Test func jsonObjectArrayAndLists() throws {
        let object = """
            {"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
             "metadata": {"name": "a"}, "spec": {"podSelector": {}, "ingress": [{"ports": [{"port": 8080}]}]}}
            """
        let single = try PolicySet(parsing: object)
        #expect(single.networkPolicies.map(\.namespace) == ["default"])
        #expect(single.networkPolicies[0].ingress[0].ports == [NetworkPolicyPort(protocol: .tcp, port: .number(8080))])

        let array = try PolicySet(parsing: "[\(object), \(object.replacingOccurrences(of: "\"a\"", with: "\"b\""))]")
        #expect(array.networkPolicies.map(\.name) == ["a", "b"])

        let list = try PolicySet(parsing: """
            {"apiVersion": "v1", "kind": "List", "items": [\(object),
              {"apiVersion": "projectcalico.org/v3", "kind": "NetworkPolicy", "metadata": {"name": "c", "namespace": "n"},
               "spec": {"selector": "all()", "ingress": [{"action": "Allow", "protocol": "SCTP", "destination": {"ports": [9]}}]}}]}
            """)
        #expect(list.networkPolicies.count == 1)
        #expect(list.calicoPolicies.first?.scope == .namespaced("n"))
        #expect(list.calicoPolicies.first?.ingress.first?.protocol == .sctp)

        let typedList = try PolicySet(parsing: """
            apiVersion: networking.k8s.io/v1
            kind: NetworkPolicyList
            items:
            - {apiVersion: networking.k8s.io/v1, kind: NetworkPolicy, metadata: {name: z}, spec: {}}
            """)
        #expect(typedList.networkPolicies.map(\.name) == ["z"])
    }

    @Test func emptyTextHasNoPolicies() throws {
        #expect(try PolicySet(parsing: "") == PolicySet())
        #expect(try PolicySet(parsing: "---\n---\n") == PolicySet())
    }

    /// (text, code, document index, field)
    static let badInputs: [(String, PolicyError.Code, Int?, String?)] = [
        ("a: [", .malformedDocument, 0, nil),
        ("kind: A\n---\nkind: [", .malformedDocument, 1, nil),
        ("apiVersion: v1\nkind: Service\nmetadata: {name: s}", .unsupportedKind, 0, ""),
        ("---\napiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {}\nspec: {}", .missingField, 0, "metadata.name"),
        (k8s("ingress: [{ports: [{port: HTTP}]}]"), .invalidValue, 1, "spec.ingress[0].ports[0].port"),
        (k8s("ingress: [{ports: [{port: \"80\"}]}]"), .invalidValue, 1, "spec.ingress[0].ports[0].port"),
        (k8s("ingress: [{ports: [{port: 0}]}]"), .invalidValue, 1, "spec.ingress[0].ports[0].port"),
        (k8s("ingress: [{ports: [{port: http, endPort: 90}]}]"), .invalidValue, 1, "spec.ingress[0].ports[0].endPort"),
        (k8s("ingress: [{ports: [{port: 90, endPort: 80}]}]"), .invalidValue, 1, "spec.ingress[0].ports[0].endPort"),
        (k8s("ingress: [{ports: [{protocol: ICMP}]}]"), .invalidValue, 1, "spec.ingress[0].ports[0].protocol"),
        (k8s("egress: [{to: [{ipBlock: {cidr: 10.0.0.0/8, except: [11.0.0.0/24]}}]}]"), .invalidValue, 1, "spec.egress[0].to[0].ipBlock.except[0]"),
        (k8s("egress: [{to: [{ipBlock: {cidr: 10.0.0.0/33}}]}]"), .invalidValue, 1, "spec.egress[0].to[0].ipBlock.cidr"),
        (k8s("egress: [{to: [{ipBlock: {cidr: 10.0.0.0/8}, podSelector: {}}]}]"), .invalidValue, 1, "spec.egress[0].to[0]"),
        (k8s("egress: [{to: [{}]}]"), .invalidValue, 1, "spec.egress[0].to[0]"),
        (k8s("podSelector: {matchExpressions: [{key: a, operator: Equals, values: [b]}]}"), .invalidValue, 1,
         "spec.podSelector.matchExpressions[0].operator"),
        (k8s("podSelector: {matchExpressions: [{key: a, operator: In}]}"), .invalidValue, 1, "spec.podSelector.matchExpressions[0]"),
        (k8s("podSelector: {matchExpressions: [{key: a, operator: Exists, values: [b]}]}"), .invalidValue, 1,
         "spec.podSelector.matchExpressions[0]"),
        (k8s("policyTypes: [Inbound]"), .invalidValue, 1, "spec.policyTypes[0]"),
        (k8s("ingress: {from: []}"), .invalidValue, 1, "spec.ingress"),
        (calico("selector: \"app == 'x\""), .invalidSelector, 0, "spec.selector"),
        (calico("ingress: [{action: Accept}]"), .invalidValue, 0, "spec.ingress[0].action"),
        (calico("ingress: [{action: Allow, destination: {ports: [80]}}]"), .invalidValue, 0, "spec.ingress[0]"),
        (calico("ingress: [{action: Allow, protocol: ICMP, destination: {ports: [80]}}]"), .invalidValue, 0, "spec.ingress[0]"),
        (calico("ingress: [{action: Allow, protocol: TCP, destination: {ports: [\"90:80\"]}}]"), .invalidValue, 0,
         "spec.ingress[0].destination.ports[0]"),
        (calico("ingress: [{action: Allow, source: {notSelector: a == 'b'}}]"), .unsupportedField, 0, "spec.ingress[0].source.notSelector"),
        (calico("ingress: [{action: Allow, protocol: bogus}]"), .invalidValue, 0, "spec.ingress[0].protocol"),
        (calico("order: high"), .invalidValue, 0, "spec.order"),
        (calico("doNotTrack: true"), .unsupportedField, 0, "spec.doNotTrack"),
        (calico("ingress: [{action: Allow, ipVersion: 6, source: {nets: [10.0.0.0/8]}}]"), .invalidValue, 0, "spec.ingress[0]"),
        ("apiVersion: projectcalico.org/v3\nkind: NetworkPolicy\nmetadata: {name: n}\nspec: {namespaceSelector: all()}",
         .invalidValue, 0, "spec.namespaceSelector"),
        ("{\"apiVersion\": \"v1\", \"kind\": \"List\", \"items\": [{\"apiVersion\": \"networking.k8s.io/v1\", \"kind\": \"NetworkPolicy\", \"metadata\": {\"name\": \"a\"}, \"spec\": {\"podSelector\": 3}}]}",
         .invalidValue, 0, "items[0].spec.podSelector"),
        (k8s("podSelector: {}") + "\n---\n" + k8s("podSelector: {}").replacingOccurrences(of: "name: first", with: "name: second"),
         .duplicate, 3, ""),
        (k8s("podSelector: {}") + "\n---\n" + k8s("podSelector: {}"), .duplicate, 2, ""),
        (k8s("").replacingOccurrences(of: "spec:", with: "status: {}"), .missingField, 1, "spec"),
    ]

    static func k8s(_ spec: String) -> String {
        """
        apiVersion: projectcalico.org/v3
        kind: Tier
        metadata: {name: first}
        ---
        apiVersion: networking.k8s.io/v1
        kind: NetworkPolicy
        metadata: {name: p, namespace: n}
        spec:
          \(spec)
        """
    }

    static func calico(_ spec: String) -> String {
        "apiVersion: projectcalico.org/v3\nkind: GlobalNetworkPolicy\nmetadata: {name: g}\nspec:\n  \(spec)\n"
    }

    @Test(arguments: badInputs.indices)
    func badInputIsRejectedWithLocation(index: Int) {
        let (text, code, document, field) = Self.badInputs[index]
        do {
            let set = try PolicySet(parsing: text)
            Issue.record("accepted bad input \(index): \(set)")
        } catch let error as PolicyError {
            #expect(error.code == code, "\(error)")
            #expect(error.documentIndex == document, "\(error)")
            #expect(error.field == field, "\(error)")
            #expect(!error.description.isEmpty)
        } catch {
            Issue.record("not a PolicyError: \(error)")
        }
    }

    @Test func errorDescriptionNamesDocumentAndField() throws {
        let error = #expect(throws: PolicyError.self) { try PolicySet(parsing: Self.k8s("ingress: [{ports: [{port: HTTP}]}]")) }
        #expect(error?.description.hasPrefix("invalid value: document 1, spec.ingress[0].ports[0].port: named port \"HTTP\"") == true)
    }

    @Test func mergeReplacesSameIdentity() throws {
        var set = try PolicySet(parsing: Self.multiDocument)
        var update = PolicySet(networkPolicies: [NetworkPolicy(name: "web", namespace: "shop")])
        update.tiers = [CalicoTier(name: "platform", order: 1)]
        set.merge(update)
        #expect(set.networkPolicies.count == 1 && set.networkPolicies[0].ingress.isEmpty)
        #expect(set.tiers == [CalicoTier(name: "platform", order: 1)])
    }
}
