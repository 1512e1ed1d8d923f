import Foundation
import Lab
import LabProfiles
import Policy
import Testing

/// How `cnilab policy apply` splits a file into stored documents (pure, no root).
@Suite struct LabPolicyDocumentTests {
    static let multiDocument = """
        apiVersion: networking.k8s.io/v1
        kind: NetworkPolicy
        metadata: {name: allow-web, namespace: x}
        spec:
          podSelector: {matchLabels: {app: db}}
          policyTypes: [Ingress]
          ingress:
          - from: [{podSelector: {matchLabels: {app: web}}}]
            ports: [{port: 80, protocol: TCP}, {port: "serve-81-udp", protocol: UDP}]
        ---
        apiVersion: projectcalico.org/v3
        kind: GlobalNetworkPolicy
        metadata: {name: deny-81}
        spec:
          order: 10
          selector: app == 'db'
          types: [Ingress]
          ingress:
          - {action: Deny, protocol: TCP, destination: {ports: [81]}}
        ---
        apiVersion: projectcalico.org/v3
        kind: NetworkPolicy
        metadata: {name: y-only, namespace: y}
        spec:
          selector: all()
          ingress:
          - action: Allow
            source: {selector: "app == 'web'", namespaceSelector: all()}
        """

    @Test func multiDocumentYAMLBecomesOneKeyPerPolicy() throws {
        let documents = try LabPolicy.documents(parsing: Self.multiDocument)
        #expect(documents.map(\.key) == [
            "/swiftcni/policies/k8s/x/allow-web", "/swiftcni/policies/calico/global/deny-81", "/swiftcni/policies/calico/y/y-only",
        ])
        #expect(documents.map(\.kind) == [.kubernetes, .calicoGlobal, .calico])
        #expect(documents.map(\.qualifiedName) == ["x/allow-web", "deny-81", "y/y-only"])
        // Each stored value is the JSON of one document, equivalent to the YAML.
        var merged = PolicySet()
        for document in documents {
            let object = try JSONSerialization.jsonObject(with: Data(document.document.utf8)) as? [String: Any]
            #expect(object?["kind"] != nil && object?["metadata"] != nil)
            merged.merge(try PolicySet(parsing: document.document))
            #expect(try LabPolicy.policy(from: document.document, key: document.key) == document)
        }
        #expect(merged == (try PolicySet(parsing: Self.multiDocument)))
    }

    @Test func quotedNumbersStayStringsAndNumbersStayNumbers() throws {
        let document = try LabPolicy.documents(parsing: Self.multiDocument)[0].document
        #expect(document.contains(#""port":80"#))
        #expect(document.contains(#""port":"serve-81-udp""#))
    }

    @Test func jsonArrayAndListAreSplit() throws {
        let json = #"[{"apiVersion":"networking.k8s.io/v1","kind":"NetworkPolicy","metadata":{"name":"a","namespace":"x"},"spec":{"podSelector":{}}},"#
            + #"{"kind":"List","items":[{"apiVersion":"networking.k8s.io/v1","kind":"NetworkPolicy","metadata":{"name":"b"},"spec":{"podSelector":{}}}]}]"#
        let documents = try LabPolicy.documents(parsing: json)
        #expect(documents.map(\.key) == ["/swiftcni/policies/k8s/x/a", "/swiftcni/policies/k8s/default/b"])
    }

    @Test(arguments: [
        ("apiVersion: v1\nkind: Pod\nmetadata: {name: p}\n", "unsupported kind"),
        ("apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: a}\nspec: {podSelector: {}, ingress: [{ports: [{port: HTTP}]}]}\n", "named port"),
        ("{not yaml: [", "neither valid YAML nor JSON"),
        ("", "no policy document"),
        ("apiVersion: projectcalico.org/v3\nkind: Tier\nmetadata: {name: platform}\nspec: {order: 5}\n", "stores no tiers"),
        ("apiVersion: projectcalico.org/v3\nkind: NetworkPolicy\nmetadata: {name: a, namespace: global}\nspec: {selector: all()}\n", "collide"),
    ])
    func badFilesGiveClearErrors(text: String, expected: String) {
        let error = #expect(throws: LabError.self) { try LabPolicy.documents(parsing: text) }
        #expect(error?.description.contains(expected) == true, "\(String(describing: error))")
    }

    @Test func aBadDocumentAfterGoodOnesRejectsTheWholeFile() {
        let text = Self.multiDocument + "\n---\napiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: z}\nspec: {podSelector: {matchLabels: 5}}\n"
        let error = #expect(throws: LabError.self) { try LabPolicy.documents(parsing: text) }
        #expect(error?.description.contains("document 3") == true, "\(String(describing: error))")
    }
}
